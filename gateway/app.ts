import { createServer, type RequestListener } from 'node:http';
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
import { SaleCatalogueReader } from './catalogue.js';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { EngineLink } from './engine-link.js';
import { ApiError, answerClientError, errorBody, sendError, toApiError } from './errors.js';
import { AdmissionFeed } from './live/admission-feed.js';
import { QueueFeeds } from './live/queue-feeds.js';
import { SaleFeeds } from './live/sale-feeds.js';
import { StatusFeed } from './live/status-feed.js';
import { GatewayMetrics } from './metrics.js';
import { RequestSummary } from './request-summary.js';
import { registerLiveRoutes, WS_FRAME_BYTES_MAX } from './routes/live.js';
import { OPERATIONS_PATHS, registerOperationRoutes } from './routes/operations.js';
import { registerOrderRoutes } from './routes/orders.js';
import { registerPageRoutes } from './routes/page.js';
import { registerQueueRoutes } from './routes/queue.js';
import { registerSaleList } from './routes/sale-list.js';
import { registerSaleRoutes } from './routes/sales.js';
import { type AnswerRecorder, requestIdOf, soldOutEarly } from './sold-out-early.js';

// The gateway as a Fastify instance over a NATS connection: stateless, so any number run side by
// side. Built here without listening, so tests can `inject` and main.ts can listen.

/** Levels at which Fastify's two lines per request are logged; above them, a summary instead. */
const REQUEST_LOG_LEVELS: ReadonlySet<string> = new Set(['debug', 'trace']);
/** Customers whose rate-limit counters are kept at once (least recently seen are dropped). */
const RATE_LIMIT_CUSTOMERS_MAX = 100_000;
/** How often the event-loop delay is sampled for load shedding. */
const PRESSURE_SAMPLE_INTERVAL_MS = 1_000;
const CLOSE_GOING_AWAY = 1001;
/**
 * Fastify's own default for the servers it makes: longer than the 60 s idle timeout of common
 * load balancers, so the balancer, not the gateway, closes an idle keep-alive connection.
 */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface GatewayParts {
  readonly config: GatewayConfig;
  readonly nc: NatsConnection;
  readonly logger: Logger;
  readonly natsConnected: () => boolean;
}

/** A gateway's state that lives outside Fastify: the early answer reads it before Fastify runs. */
interface Shell {
  readonly context: GatewayContext;
  readonly summary: RequestSummary;
  readonly answered: AnswerRecorder;
  closing: boolean;
}

export async function buildGateway(parts: GatewayParts): Promise<FastifyInstance> {
  const shell = createShell(parts);
  const app = createFastify(parts, shell);
  addRequestHooks(app, shell);
  await registerPlugins(app, shell.context);
  registerOrderRoutes(app, shell.context);
  registerSaleRoutes(app, shell.context);
  registerSaleList(app, shell.context);
  registerQueueRoutes(app, shell.context);
  registerLiveRoutes(app, shell.context);
  registerOperationRoutes(app, shell.context);
  registerPageRoutes(app);
  app.addHook('onClose', async () => {
    shell.context.feeds.close();
    shell.context.statuses.close();
    shell.context.queues.close();
    shell.context.admissions.close();
    shell.summary.close();
  });
  return app;
}

function createShell({ config, nc, logger, natsConnected }: GatewayParts): Shell {
  const metrics = new GatewayMetrics(() => engine.inflight);
  const catalogue = new SaleCatalogueReader(nc);
  const engine = new EngineLink(nc, catalogue, {
    requestTimeoutMs: config.engineRequestTimeoutMs,
    inflightMax: config.engineInflightMax,
    batchOrdersMax: config.engineBatchOrdersMax,
    onShed: () => metrics.shed.inc({ reason: 'inflight' }),
  });
  const context: GatewayContext = {
    config,
    nc,
    engine,
    catalogue,
    feeds: new SaleFeeds(nc),
    statuses: new StatusFeed(nc),
    queues: new QueueFeeds(nc),
    admissions: new AdmissionFeed(nc),
    metrics,
    natsConnected,
  };
  const summary = new RequestSummary(logger, config.logSummaryIntervalMs);
  const answered: AnswerRecorder = (method, route, status, ms) => {
    metrics.answered(method, route, status, ms / 1000);
    summary.record(status, ms);
  };
  return { context, summary, answered, closing: false };
}

function createFastify({ config, logger }: GatewayParts, shell: Shell): FastifyInstance {
  const early = soldOutEarly({
    feeds: shell.context.feeds,
    bodyBytesMax: config.bodyBytesMax,
    closing: () => shell.closing,
    answered: shell.answered,
    counted: () => shell.context.metrics.soldOutFastPath.inc(),
  });
  return Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: !REQUEST_LOG_LEVELS.has(config.logLevel),
    // The server Fastify would make, but the sold-out answer goes first (sold-out-early.ts).
    serverFactory: (handler: RequestListener) => {
      const server = createServer((request, response) => {
        if (!early(request, response)) handler(request, response);
      });
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      return server;
    },
    bodyLimit: config.bodyBytesMax,
    // Not 'x-request-id': Fastify would then take the header as it is, whatever its length or
    // content, without asking genReqId, which reads and checks it.
    requestIdHeader: false,
    genReqId: requestIdOf,
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
}

/** Callback hooks, not async ones, on every request: each promise shows in the profile. */
function addRequestHooks(app: FastifyInstance, shell: Shell): void {
  const { config } = shell.context;
  app.addHook('preClose', async () => {
    shell.closing = true;
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    if (!shell.closing) return done();
    done(
      new ApiError('OVERLOADED', 'This gateway is shutting down; retry (another one will answer).'),
    );
  });
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
    if (shell.closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const ms = reply.elapsedTime;
    shell.answered(request.method, route, reply.statusCode, ms);
    if (ms > config.logSlowRequestMs)
      request.log.warn(
        { method: request.method, route, status: reply.statusCode, ms: Math.round(ms) },
        'slow request',
      );
    done();
  });
}

async function registerPlugins(app: FastifyInstance, context: GatewayContext): Promise<void> {
  const { config, metrics } = context;
  await app.register(underPressure, {
    maxEventLoopDelay: config.eventLoopDelayMsMax,
    sampleInterval: PRESSURE_SAMPLE_INTERVAL_MS,
    retryAfter: config.retryAfterS,
    // under-pressure sends what this returns, and lets the request through on null (its typings
    // only declare void).
    pressureHandler: ((request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?', 1)[0] ?? request.url;
      if (OPERATIONS_PATHS.includes(path)) return null;
      metrics.shed.inc({ reason: 'event_loop' });
      void reply.code(503).header('retry-after', String(config.retryAfterS));
      return errorBody(new ApiError('OVERLOADED', 'The gateway is overloaded; retry shortly.'));
    }) as unknown as () => void,
  });
  await registerAuth(app, config);
  await registerRateLimit(app, config);
  await registerOpenApi(app);
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
}

async function registerRateLimit(app: FastifyInstance, config: GatewayConfig): Promise<void> {
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
}

async function registerOpenApi(app: FastifyInstance): Promise<void> {
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
