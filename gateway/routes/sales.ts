import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { CommandReply } from '../../engine/protocol/index.js';
import { customerOf, requireAdmin, requireCustomer } from '../auth.js';
import type { GatewayContext } from '../context.js';
import { ApiError } from '../errors.js';
import {
  type ConfigureSaleBody,
  ConfigureSaleBody as ConfigureSaleSchema,
  MyOrders,
  replies,
  Sale,
  SaleIdParams,
} from '../schemas.js';
import { myOrdersJson, saleJson } from '../views.js';
import { followSale } from './follow-sale.js';

/** How long a new sale's engine may take to serve it after its placement. */
const PLACED_SERVING_WAIT_MS = 5_000;
const PLACED_POLL_MS_MIN = 5;
const PLACED_POLL_MS_MAX = 200;

// Reading a sale (public), the caller's orders in a sale, and creating or changing a sale (admin).

export function registerSaleRoutes(app: FastifyInstance, context: GatewayContext): void {
  registerSaleRead(app, context);
  registerMyOrders(app, context);
  registerSaleConfiguration(app, context);
}

function registerSaleRead(app: FastifyInstance, context: GatewayContext): void {
  const { engine } = context;
  app.get<{ Params: { saleId: string } }>(
    '/v1/sales/:saleId',
    {
      schema: {
        summary: 'A sale: stock, remaining, limit, window and status',
        tags: ['sales'],
        params: SaleIdParams,
        response: replies({ 200: Sale }, [404, 503]),
      },
    },
    async (request) => {
      const { saleId } = request.params;
      const answer = await engine.query(saleId, { type: 'GetSale' });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'sale') throw new Error(`unexpected reply kind ${answer.kind}`);
      followSale(context, saleId, answer.sale);
      return saleJson(answer.sale);
    },
  );
}

function registerMyOrders(app: FastifyInstance, context: GatewayContext): void {
  const { engine } = context;
  app.get<{ Params: { saleId: string } }>(
    '/v1/sales/:saleId/me',
    {
      schema: {
        summary: "The caller's units and orders in a sale (what the live page shows on load)",
        tags: ['orders'],
        security: [{ bearer: [] }],
        params: SaleIdParams,
        response: replies({ 200: MyOrders }, [401, 404, 429, 503]),
      },
      config: { rateLimit: {} },
      preValidation: requireCustomer,
    },
    async (request) => {
      const { saleId } = request.params;
      const answer = await engine.query(saleId, {
        type: 'GetCustomer',
        customerId: customerOf(request),
      });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'customer') throw new Error(`unexpected reply kind ${answer.kind}`);
      return myOrdersJson(answer.customer);
    },
  );
}

function registerSaleConfiguration(app: FastifyInstance, context: GatewayContext): void {
  app.put<{ Params: { saleId: string }; Body: ConfigureSaleBody }>(
    '/v1/admin/sales/:saleId',
    {
      schema: {
        summary: 'Create a sale (201) or change it (200)',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: SaleIdParams,
        body: ConfigureSaleSchema,
        response: replies({ 200: Sale, 201: Sale }, [401, 403, 503]),
      },
      preValidation: async (request) => {
        requireAdmin(request);
      },
    },
    async (request, reply) => {
      const { saleId } = request.params;
      const { name, stock, perCustomerLimit, startsAt, endsAt, waitingRoom } = request.body;
      const answer = await configurePlaced(context, saleId, {
        type: 'ConfigureSale',
        name,
        stock,
        perCustomerLimit,
        startsAt: instantMs(startsAt),
        endsAt: instantMs(endsAt),
        ...(waitingRoom === undefined
          ? {}
          : { waitingRoom: { ...waitingRoom, lobbyOpensAt: instantMs(waitingRoom.lobbyOpensAt) } }),
      });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'sale') throw new Error(`unexpected reply kind ${answer.kind}`);
      followSale(context, saleId, answer.sale);
      return reply.code(answer.created ? 201 : 200).send(saleJson(answer.sale));
    },
  );
}

/**
 * Configures the sale on its engine. A sale nobody serves is placed by the pool first (create-only,
 * so two racing PUTs place it once; a sale placed already is answered with its entry), then the
 * request goes to the engine chosen, once it serves the sale (it takes it up within
 * milliseconds). A racing PUT can find the sale in the catalogue while its engine is still taking
 * it up: that ENGINE_UNAVAILABLE waits for the engine like a new placement does.
 */
async function configurePlaced(
  context: GatewayContext,
  saleId: string,
  command: object,
): Promise<CommandReply> {
  const { engine, catalogue } = context;
  try {
    return await engine.command(saleId, command);
  } catch (error) {
    const unserved =
      error instanceof ApiError &&
      (error.code === 'SALE_NOT_FOUND' || error.code === 'ENGINE_UNAVAILABLE');
    if (!unserved) throw error;
  }
  const placement = await catalogue.place(saleId).catch((error: unknown) => {
    throw new ApiError(
      'ENGINE_UNAVAILABLE',
      `No engine pool answered: ${(error as Error).message}`,
    );
  });
  if (!placement.ok) throw ApiError.from(placement.error);
  const deadline = Date.now() + PLACED_SERVING_WAIT_MS;
  for (let waitMs = PLACED_POLL_MS_MIN; ; waitMs = Math.min(waitMs * 2, PLACED_POLL_MS_MAX)) {
    try {
      return await engine.command(saleId, command);
    } catch (error) {
      const notYet = error instanceof ApiError && error.code === 'ENGINE_UNAVAILABLE';
      if (!notYet || Date.now() + waitMs > deadline) throw error;
    }
    await delay(waitMs);
  }
}

function instantMs(value: string | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms < 0)
    throw new ApiError('INVALID_REQUEST', `Not a valid instant: ${value}`);
  return ms;
}
