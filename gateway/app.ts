import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import underPressure from '@fastify/under-pressure';
import websocket from '@fastify/websocket';
import type { NatsConnection } from '@nats-io/transport-node';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { registerAuth } from './auth.js';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { EngineLink } from './engine-link.js';
import { ApiError, answerClientError, errorBody, sendError, toApiError } from './errors.js';
import { SaleFeeds } from './live/sale-feeds.js';
import { StatusFeed } from './live/status-feed.js';
import { GatewayMetrics } from './metrics.js';
import { registerLiveRoutes, WS_FRAME_BYTES_MAX } from './routes/live.js';
import { OPERATIONS_PATHS, registerOperationRoutes } from './routes/operations.js';
import { registerOrderRoutes } from './routes/orders.js';
import { registerPageRoutes } from './routes/page.js';
import { registerSaleRoutes } from './routes/sales.js';

// The gateway as a Fastify instance over a NATS connection: stateless, so any number run side by
// side. Built here without listening, so tests can `inject` and main.ts can listen.

/** A request id from the client is kept only if it looks like one (else a fresh UUID). */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Customers whose rate-limit counters are kept at once (least recently seen are dropped). */
const RATE_LIMIT_CUSTOMERS_MAX = 100_000;
/** How often the event-loop delay is sampled for load shedding. */
const PRESSURE_SAMPLE_INTERVAL_MS = 1_000;
const CLOSE_GOING_AWAY = 1001;

export interface GatewayParts {
  readonly config: GatewayConfig;
  readonly nc: NatsConnection;
  readonly logger: Logger;
  readonly natsConnected: () => boolean;
}

export async function buildGateway({
  config,
  nc,
  logger,
  natsConnected,
}: GatewayParts): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyBytesMax,
    // Not 'x-request-id': Fastify would then take the header as it is, whatever its length or
    // content, without asking genReqId, which reads and checks it.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
    // Validate what arrives exactly as declared: no type coercion ("1" is not a quantity), and
    // unknown fields are errors rather than silently removed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // On close: idle keep-alive connections go at once, requests in flight finish; new requests
    // meanwhile get our own 503 (the hook below), not Fastify's.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // A path Fastify can't route (bad %-escape, a parameter over 100 characters) and a request
    // Node's parser refuses get the catalogue's INVALID_REQUEST too, not Fastify's own shape.
    frameworkErrors: (_error, _request, reply) =>
      sendError(
        reply,
        new ApiError('INVALID_REQUEST', 'The path is not valid (a bad %-escape or too long).'),
        config.retryAfterS,
      ),
    clientErrorHandler: answerClientError,
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Callback hooks, not async ones, on every request: each promise shows in the profile.
  app.addHook('onRequest', (_request, _reply, done) => {
    if (!closing) return done();
    done(
      new ApiError('OVERLOADED', 'This gateway is shutting down; retry (another one will answer).'),
    );
  });
  const metrics = new GatewayMetrics(() => engine.inflight);
  const engine = new EngineLink(nc, {
    requestTimeoutMs: config.engineRequestTimeoutMs,
    inflightMax: config.engineInflightMax,
    batchOrdersMax: config.engineBatchOrdersMax,
    onShed: () => metrics.shed.inc({ reason: 'inflight' }),
  });
  const context: GatewayContext = {
    config,
    nc,
    engine,
    feeds: new SaleFeeds(nc),
    statuses: new StatusFeed(nc),
    metrics,
    natsConnected,
  };

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error as FastifyError, request);
    return sendError(reply, apiError, config.retryAfterS);
  });
  app.setNotFoundHandler((_request, reply) =>
    sendError(reply, new ApiError('NOT_FOUND'), config.retryAfterS),
  );
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    // Node closes only the connections idle at close time: one finishing its request later would
    // stay open (keep-alive) and hold the exit, unless its response says so.
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: reply.statusCode });
    metrics.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  await app.register(underPressure, {
    maxEventLoopDelay: config.eventLoopDelayMsMax,
    sampleInterval: PRESSURE_SAMPLE_INTERVAL_MS,
    retryAfter: config.retryAfterS,
    // under-pressure sends what this returns, and lets the request through on null (its typings
    // only declare void).
    pressureHandler: ((request: FastifyRequest, reply: FastifyReply) => {
      if (OPERATIONS_PATHS.includes(request.url.split('?')[0]!)) return null;
      metrics.shed.inc({ reason: 'event_loop' });
      void reply.code(503).header('retry-after', String(config.retryAfterS));
      return errorBody(new ApiError('OVERLOADED', 'The gateway is overloaded; retry shortly.'));
    }) as unknown as () => void,
  });
  await registerAuth(app, config);
  await app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    max: config.rateLimitMax,
    timeWindow: config.rateLimitWindowMs,
    cache: RATE_LIMIT_CUSTOMERS_MAX,
    // The x-ratelimit-* headers go with a 429 only (with its Retry-After): on every other reply
    // they carried no decision yet were ~90 of its ~360 bytes, 5% of the sold-out fast path.
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    keyGenerator: (request) => request.identity?.customerId ?? `ip:${request.ip}`,
    errorResponseBuilder: (_request, limit) =>
      new ApiError(
        'RATE_LIMITED',
        `At most ${limit.max} requests per ${limit.after}; retry later.`,
        undefined,
        Math.max(1, Math.ceil(limit.ttl / 1000)),
      ),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Flash-sale gateway',
        version: '1',
        description: 'Orders for limited flash sales. Errors: {"error": CODE, "message": ...}.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  await app.register(websocket, {
    options: { maxPayload: WS_FRAME_BYTES_MAX },
    // 1001 "going away" tells a browser to reconnect (to another gateway), unlike a bare close.
    preClose: function closeSockets(this: FastifyInstance, done) {
      for (const socket of this.websocketServer.clients)
        socket.close(CLOSE_GOING_AWAY, 'shutting down');
      // Not waiting for every client's closing handshake: a dead client would hold the exit.
      this.websocketServer.close();
      done();
    },
  });

  registerOrderRoutes(app, context);
  registerSaleRoutes(app, context);
  registerLiveRoutes(app, context);
  registerOperationRoutes(app, context);
  registerPageRoutes(app);

  app.addHook('onClose', async () => {
    context.feeds.close();
    context.statuses.close();
  });
  return app;
}

/** How long start-up may wait for the first calm event-loop sample. */
const SETTLE_WAIT_MS_MAX = 5_000;

/**
 * Waits (bounded) until the load-shedding monitor has a calm sample. Loading the plugins blocks
 * the event loop, and the first sample after it reads as pressure: without this, a gateway would
 * answer its first requests OVERLOADED.
 */
export async function settle(app: FastifyInstance): Promise<void> {
  await app.ready();
  const deadline = Date.now() + SETTLE_WAIT_MS_MAX;
  while (app.isUnderPressure() && Date.now() < deadline) await delay(PRESSURE_SAMPLE_INTERVAL_MS);
}
