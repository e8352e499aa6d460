import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { QueueMessage, StockMessage } from '../../engine/protocol/index.js';
import { authenticate } from '../auth.js';
import type { GatewayContext } from '../context.js';
import { ApiError } from '../errors.js';
import { LatestSender } from '../live/latest-sender.js';
import { LiveSockets } from '../live/live-sockets.js';
import { SaleIdParams, TokenQuery } from '../schemas.js';

// Live pushes over WebSocket. Refusals (no token, unknown sale, too many sockets at the gateway or
// for one customer) are plain HTTP errors before the upgrade; what every socket gets (bounds,
// heartbeat, junk handling) is live/live-sockets.ts.

/** Bytes a client frame may have; larger ones close the socket (1009). */
export const WS_FRAME_BYTES_MAX = 1_024;

/** RFC 6455 1013 "try again later". */
const CLOSE_UNAVAILABLE = 1013;

const NOT_A_WEBSOCKET = 'This route speaks WebSocket: send an Upgrade request.';

/** A plain HTTP GET of a live route: it only speaks WebSocket. */
const refusePlainHttp = async (): Promise<never> => {
  throw new ApiError('INVALID_REQUEST', NOT_A_WEBSOCKET);
};

export function registerLiveRoutes(app: FastifyInstance, context: GatewayContext): void {
  const sockets = new LiveSockets(context.config, context.metrics);
  app.addHook('onClose', async () => sockets.stop());
  registerSaleLive(app, context, sockets);
  registerMyLive(app, context, sockets);
}

/** `/v1/sales/:saleId/live`: the sale's stock now, then every change. Public. */
function registerSaleLive(app: FastifyInstance, context: GatewayContext, sockets: LiveSockets) {
  const { engine, feeds } = context;
  app.route<{ Params: { saleId: string } }>({
    method: 'GET',
    url: '/v1/sales/:saleId/live',
    schema: { params: SaleIdParams },
    // After validation: the saleId becomes part of a NATS subject, so it must be checked first.
    preHandler: async (request: FastifyRequest<{ Params: { saleId: string } }>) => {
      sockets.admit();
      const { saleId } = request.params;
      if (feeds.latest(saleId) !== null) return;
      const answer = await engine.query(saleId, { type: 'GetSale' });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'sale') throw new Error(`unexpected reply kind ${answer.kind}`);
      const { stock, remaining } = answer.sale;
      feeds.follow(saleId, { type: 'stock', saleId, stock, remaining });
    },
    handler: refusePlainHttp,
    wsHandler: (socket, request) => {
      const { saleId } = request.params;
      const sender = new LatestSender(socket);
      const push = (message: StockMessage) => sender.send('stock', message);
      const pushQueue = (message: QueueMessage) => sender.send('queue', message);
      const stopStock = feeds.listen(saleId, push);
      // Every sale's socket follows its queue: a sale without a waiting room sends none.
      const stopQueue = context.queues.listen(saleId, pushQueue);
      sockets.track(socket, 'sale', () => {
        stopStock();
        stopQueue();
      });
      const current = feeds.latest(saleId);
      if (current !== null) push(current);
      const queue = context.queues.latest(saleId);
      if (queue !== null) pushQueue(queue);
    },
  });
}

/** `/v1/me/live`: the caller's order status changes, after a `ready` once it follows them all. */
function registerMyLive(app: FastifyInstance, context: GatewayContext, sockets: LiveSockets) {
  app.route<{ Querystring: { token?: string } }>({
    method: 'GET',
    url: '/v1/me/live',
    schema: { querystring: TokenQuery },
    preValidation: async (request) => {
      sockets.admit();
      sockets.admitCustomer(authenticate(request, true).customerId);
    },
    handler: refusePlainHttp,
    wsHandler: (socket, request) => {
      const customerId = request.identity?.customerId;
      if (customerId === undefined) throw new Error('a /v1/me/live socket without its customer');
      let stop: (() => void) | null = null;
      let closed = false;
      const stopAdmissions = followAdmissions(context, socket, customerId);
      sockets.track(
        socket,
        'me',
        () => {
          closed = true;
          stopAdmissions();
          stop?.();
        },
        customerId,
      );
      followStatuses(context, socket, customerId).then(
        (unlisten) => {
          if (closed) return unlisten();
          stop = unlisten;
          // Tells the client it will now see every change (tests and pages can rely on it).
          socket.send(JSON.stringify({ type: 'ready' }));
        },
        (error: unknown) => {
          // NATS closed under us (shutdown): the client reconnects, to this or another gateway.
          request.log.warn({ err: error }, 'could not follow order statuses');
          socket.close(CLOSE_UNAVAILABLE, 'try again');
        },
      );
    },
  });
}

/** Sends the customer's status changes to the socket, the latest per order; resolves to stop. */
function followStatuses(
  { statuses }: GatewayContext,
  socket: WebSocket,
  customerId: string,
): Promise<() => void> {
  const sender = new LatestSender(socket);
  return statuses.listen(customerId, (saleId, change) =>
    sender.send(change.orderId, {
      type: 'orderStatus',
      saleId,
      orderId: change.orderId,
      status: change.status,
      trackingId: change.trackingId,
      message: change.message,
      at: new Date(change.at).toISOString(),
    }),
  );
}

/**
 * Tells the customer the moment a waiting room admits them (and until when), when their
 * admission expires, and when the queue closes while they wait.
 */
function followAdmissions(
  { admissions }: GatewayContext,
  socket: WebSocket,
  customerId: string,
): () => void {
  const sender = new LatestSender(socket);
  const expiries = new Set<NodeJS.Timeout>();
  const tell = (saleId: string, state: string, admittedUntil?: number) =>
    sender.send(`admission:${saleId}`, {
      type: 'admission',
      saleId,
      state,
      position: state === 'CLOSED' ? null : 0,
      etaSeconds: state === 'ADMITTED' ? 0 : null,
      ...(admittedUntil === undefined
        ? {}
        : { admittedUntil: new Date(admittedUntil).toISOString() }),
    });
  const stop = admissions.listen(customerId, (saleId, notice) => {
    if (notice.state === 'CLOSED') return tell(saleId, 'CLOSED');
    const { admittedUntil } = notice;
    tell(saleId, 'ADMITTED', admittedUntil);
    const expiry = setTimeout(() => {
      expiries.delete(expiry);
      tell(saleId, 'EXPIRED', admittedUntil);
    }, admittedUntil - Date.now());
    expiry.unref();
    expiries.add(expiry);
  });
  return () => {
    stop();
    for (const expiry of expiries) clearTimeout(expiry);
  };
}
