import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { StockMessage } from '../../engine/protocol/index.js';
import { authenticate } from '../auth.js';
import type { GatewayContext } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { LatestSender } from '../live/latest-sender.js';
import { SocketHeartbeat } from '../live/socket-heartbeat.js';
import { SaleIdParams, TokenQuery } from '../schemas.js';

// Live pushes over WebSocket. Refusals (no token, unknown sale, too many sockets at the gateway or
// for one customer) are plain HTTP errors before the upgrade. The sockets only send: anything a
// client sends gets an error message, a client that keeps sending junk is disconnected, and one
// that no longer answers pings is dropped (socket-heartbeat.ts).

/** Bytes a client frame may have; larger ones close the socket (1009). */
export const WS_FRAME_BYTES_MAX = 1_024;
/** Junk messages tolerated from one client before it is disconnected. */
export const WS_JUNK_MESSAGES_MAX = 10;
const CLOSE_POLICY = 1008;
/** RFC 6455 1013 "try again later". */
const CLOSE_UNAVAILABLE = 1013;

const NOT_A_WEBSOCKET = 'This route speaks WebSocket: send an Upgrade request.';

export function registerLiveRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { engine, feeds, statuses, metrics, config } = context;
  let open = 0;
  /** Open `/v1/me/live` sockets by customer: one token must not take the gateway's every place. */
  const openByCustomer = new Map<string, number>();
  const heartbeat = new SocketHeartbeat(config.wsPingIntervalMs);
  app.addHook('onClose', async () => heartbeat.stop());

  function admit(): void {
    if (open >= config.wsConnectionsMax) {
      metrics.shed.inc({ reason: 'websockets' });
      throw new ApiError('OVERLOADED', 'Too many live connections at this gateway.');
    }
  }

  function admitCustomer(customerId: string): void {
    if ((openByCustomer.get(customerId) ?? 0) >= config.wsConnectionsPerCustomerMax)
      throw new ApiError(
        'RATE_LIMITED',
        `You have ${config.wsConnectionsPerCustomerMax} live connections open at this gateway; ` +
          'close one first.',
      );
  }

  function countCustomer(customerId: string, change: 1 | -1): void {
    const count = (openByCustomer.get(customerId) ?? 0) + change;
    if (count > 0) openByCustomer.set(customerId, count);
    else openByCustomer.delete(customerId);
  }

  function track(socket: WebSocket, route: string, onClose: () => void): void {
    open += 1;
    metrics.sockets.inc({ route });
    heartbeat.watch(socket);
    let junk = 0;
    socket.on('message', () => {
      junk += 1;
      socket.send(
        JSON.stringify({
          type: 'error',
          ...errorBody(
            new ApiError('INVALID_REQUEST', 'This socket only sends; messages are ignored.'),
          ),
        }),
      );
      if (junk >= WS_JUNK_MESSAGES_MAX) socket.close(CLOSE_POLICY, 'junk');
    });
    socket.once('close', () => {
      open -= 1;
      metrics.sockets.dec({ route });
      onClose();
    });
  }

  app.route<{ Params: { saleId: string } }>({
    method: 'GET',
    url: '/v1/sales/:saleId/live',
    schema: { params: SaleIdParams },
    // After validation: the saleId becomes part of a NATS subject, so it must be checked first.
    preHandler: async (request: FastifyRequest<{ Params: { saleId: string } }>) => {
      admit();
      const { saleId } = request.params;
      if (feeds.latest(saleId) !== null) return;
      const answer = await engine.query(saleId, { type: 'GetSale' });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'sale') throw new Error(`unexpected reply kind ${answer.kind}`);
      const { stock, remaining } = answer.sale;
      feeds.follow(saleId, { type: 'stock', saleId, stock, remaining });
    },
    handler: async () => {
      throw new ApiError('INVALID_REQUEST', NOT_A_WEBSOCKET);
    },
    wsHandler: (socket, request) => {
      const { saleId } = request.params;
      const sender = new LatestSender(socket);
      const push = (message: StockMessage) => sender.send('stock', message);
      const stop = feeds.listen(saleId, push);
      track(socket, 'sale', stop);
      const current = feeds.latest(saleId);
      if (current !== null) push(current);
    },
  });

  app.route<{ Querystring: { token?: string } }>({
    method: 'GET',
    url: '/v1/me/live',
    schema: { querystring: TokenQuery },
    preValidation: async (request) => {
      admit();
      admitCustomer(authenticate(request, true).customerId);
    },
    handler: async () => {
      throw new ApiError('INVALID_REQUEST', NOT_A_WEBSOCKET);
    },
    wsHandler: (socket, request) => {
      const { customerId } = request.identity!;
      const sender = new LatestSender(socket);
      let stop: (() => void) | null = null;
      let closed = false;
      countCustomer(customerId, 1);
      track(socket, 'me', () => {
        closed = true;
        countCustomer(customerId, -1);
        stop?.();
      });
      void statuses
        .listen(customerId, (saleId, change) =>
          sender.send(change.orderId, {
            type: 'orderStatus',
            saleId,
            orderId: change.orderId,
            status: change.status,
            trackingId: change.trackingId,
            message: change.message,
            at: new Date(change.at).toISOString(),
          }),
        )
        .then((unlisten) => {
          if (closed) unlisten();
          else {
            stop = unlisten;
            // Tells the client it will now see every change (tests and pages can rely on it).
            socket.send(JSON.stringify({ type: 'ready' }));
          }
        })
        .catch((error: unknown) => {
          // NATS closed under us (shutdown): the client reconnects, to this or another gateway.
          request.log.warn({ err: error }, 'could not follow order statuses');
          socket.close(CLOSE_UNAVAILABLE, 'try again');
        });
    },
  });
}
