import type { FastifyInstance } from 'fastify';
import { type CommandReply, present, type QueryReply } from '../../engine/protocol/index.js';
import { customerOf, requireCustomer } from '../auth.js';
import type { GatewayContext } from '../context.js';
import { ApiError } from '../errors.js';
import { challengeFor, verifiedSolutionId } from '../proof-of-work.js';
import {
  ChallengeReply,
  Draw,
  JoinQueueBody,
  QueueEntry,
  replies,
  SaleIdParams,
} from '../schemas.js';
import { drawJson, queueEntryJson } from '../views.js';

// The waiting room (DESIGN.md, "Waiting room"): a challenge, joining with its solution, leaving,
// the caller's place, and the draw anyone may check. The engine decides everything but the
// proof of work, which the gateway checks (the engine refuses a solution already spent).

type SaleRequest = { Params: { saleId: string } };

function expectKind<K extends string>(
  answer: CommandReply | QueryReply,
  kind: K,
): Extract<CommandReply | QueryReply, { ok: true; kind: K }> {
  if (!answer.ok) throw ApiError.from(answer.error);
  if (answer.kind !== kind) throw new Error(`unexpected reply kind ${answer.kind}`);
  return answer as Extract<CommandReply | QueryReply, { ok: true; kind: K }>;
}

export function registerQueueRoutes(app: FastifyInstance, context: GatewayContext): void {
  registerChallenge(app, context);
  registerJoin(app, context);
  registerLeave(app, context);
  registerMyPlace(app, context);
  registerDraw(app, context);
}

const customerRoute = (summary: string, success: Record<number, unknown>, errors: number[]) => ({
  schema: {
    summary,
    tags: ['waiting room'],
    security: [{ bearer: [] }],
    params: SaleIdParams,
    response: replies(success as never, [401, 403, 404, 409, 429, 503, ...errors]),
  },
  config: { rateLimit: {} },
  preValidation: requireCustomer,
});

const withBody = (route: ReturnType<typeof customerRoute>) => ({
  ...route,
  schema: { ...route.schema, body: JoinQueueBody },
});

function registerChallenge(app: FastifyInstance, context: GatewayContext): void {
  const { engine, config } = context;
  app.get<SaleRequest>(
    '/v1/sales/:saleId/queue/challenge',
    customerRoute(
      'A proof-of-work challenge (ALTCHA) to join the queue with',
      { 200: ChallengeReply },
      [],
    ),
    async (request, reply) => {
      const { saleId } = request.params;
      // Only for a sale with a waiting room: a typo gets SALE_NOT_FOUND, not a challenge.
      expectKind(await engine.query(saleId, { type: 'GetQueue' }), 'queue');
      const challenge = await challengeFor(
        config.proofOfWork,
        customerOf(request),
        saleId,
        Date.now(),
      );
      return reply.header('cache-control', 'no-store').send(challenge);
    },
  );
}

function registerJoin(app: FastifyInstance, context: GatewayContext): void {
  const { engine, config } = context;
  app.post<SaleRequest & { Body: JoinQueueBody }>(
    '/v1/sales/:saleId/queue',
    withBody(
      customerRoute(
        'Join the queue: the lobby before startsAt, the line after it (again: the same entry)',
        { 202: QueueEntry },
        [],
      ),
    ),
    async (request, reply) => {
      const { saleId } = request.params;
      const customerId = customerOf(request);
      const solutionId = await verifiedSolutionId(
        config.proofOfWork,
        request.body.solution,
        customerId,
        saleId,
      );
      const answer = await engine.command(saleId, { type: 'JoinQueue', customerId, solutionId });
      const { entry } = expectKind(answer, 'queueEntry');
      return reply.code(202).send(queueEntryJson(present(entry, 'the joined entry')));
    },
  );
}

function registerLeave(app: FastifyInstance, context: GatewayContext): void {
  const { engine } = context;
  app.delete<SaleRequest>(
    '/v1/sales/:saleId/queue',
    customerRoute('Leave the queue (for good: one ticket per customer)', { 200: QueueEntry }, []),
    async (request) => {
      const { saleId } = request.params;
      const answer = await engine.command(saleId, {
        type: 'LeaveQueue',
        customerId: customerOf(request),
      });
      return queueEntryJson(present(expectKind(answer, 'queueEntry').entry, 'the left entry'));
    },
  );
}

function registerMyPlace(app: FastifyInstance, context: GatewayContext): void {
  const { engine } = context;
  app.get<SaleRequest>(
    '/v1/sales/:saleId/queue/me',
    customerRoute(
      "The caller's place in the queue, with position and ETA",
      { 200: QueueEntry },
      [],
    ),
    async (request) => {
      const { saleId } = request.params;
      const answer = await engine.query(saleId, {
        type: 'GetQueueEntry',
        customerId: customerOf(request),
      });
      const { entry } = expectKind(answer, 'queueEntry');
      if (entry === null)
        throw new ApiError('NOT_ADMITTED', "You are not in this sale's queue; join it first.");
      return queueEntryJson(entry);
    },
  );
}

function registerDraw(app: FastifyInstance, context: GatewayContext): void {
  const { engine } = context;
  app.get<SaleRequest>(
    '/v1/sales/:saleId/draw',
    {
      schema: {
        summary: "The draw: the seed's hash; after the draw the seed and the lobby in join order",
        tags: ['waiting room'],
        params: SaleIdParams,
        response: replies({ 200: Draw }, [404, 503]),
      },
    },
    async (request) => {
      const answer = await engine.query(request.params.saleId, { type: 'GetDraw' });
      return drawJson(expectKind(answer, 'draw').draw);
    },
  );
}
