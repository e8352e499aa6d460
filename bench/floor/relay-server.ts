import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { connect } from '@nats-io/transport-node';
import { createVerifier } from 'fast-jwt';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Counter, Histogram } from 'prom-client';
import { floorCommandSubject } from './subjects.js';

// A floor for bench:http-floor: the least a gateway of DESIGN.md's shape does for an order. Its
// route hands the order to a responder (FLOOR_MODE: echo, or durable) over NATS request-reply, the orders of one event-loop turn
// in one request (as our gateway batches), and answers 201 with the responder's reply. With
// FLOOR_CONTRACT=1 it also does, on every request, what issue 5 requires of the gateway and
// nothing more: verify the bearer JWT (fast-jwt, no cache of verified tokens, as ours has none),
// validate the body by schema, apply a per-customer rate limit, count the request and its
// latency in Prometheus metrics, and give it a request id, with pino logging warnings. Under
// that flag the sale `sold-out` is answered 409 SOLD_OUT by the route itself: the floor of the
// sold-out fast path. Tells its parent its port over IPC.

const CONTRACT = process.env.FLOOR_CONTRACT === '1';
const MODE = process.env.FLOOR_MODE;
if (MODE !== 'echo' && MODE !== 'durable') throw new Error(`FLOOR_MODE must be echo or durable`);
const SUBJECT = floorCommandSubject(MODE);
const REQUEST_TIMEOUT_MS = 5_000;
/** Customers the rate limiter remembers, as our gateway's. */
const RATE_LIMIT_CUSTOMERS_MAX = 100_000;
const SOLD_OUT_SALE = 'sold-out';
const SOLD_OUT_BODY = JSON.stringify({ error: 'SOLD_OUT', message: 'The sale is sold out.' });

const nc = await connect({ servers: process.env.NATS_URL });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Waiting {
  readonly quantity: number;
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
}
let waiting: Waiting[] = [];

function flush(): void {
  const batch = waiting;
  waiting = [];
  const body = encoder.encode(JSON.stringify(batch.map((order) => order.quantity)));
  nc.request(SUBJECT, body, { timeout: REQUEST_TIMEOUT_MS }).then(
    (message) => {
      const replies = JSON.parse(decoder.decode(message.data)) as unknown[];
      batch.forEach((order, i) => {
        order.resolve(replies[i]);
      });
    },
    (error) => {
      for (const order of batch) order.reject(error);
    },
  );
}

function place(quantity: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (waiting.push({ quantity, resolve, reject }) === 1) setImmediate(flush);
  });
}

// Two instance types (one with a logger): the route code below needs only what they share.
const app = (
  CONTRACT
    ? Fastify({
        loggerInstance: pino({ level: 'warn' }) as FastifyBaseLogger,
        genReqId: () => randomUUID(),
      })
    : Fastify({ logger: false })
) as FastifyInstance;

const secret = process.env.FLOOR_JWT_SECRET;
if (CONTRACT && !secret) throw new Error('FLOOR_JWT_SECRET is required with FLOOR_CONTRACT=1');
// No cache: every request of the opening second carries a token never seen before, and a cache
// that never hits costs more than it saves (our gateway's JWT_CACHE_TOKENS_MAX is 0 by default).
const verify = createVerifier({ key: secret ?? 'unused', algorithms: ['HS256'] });
const customerOf = (authorization: string | undefined): string => {
  const claims = verify(authorization?.slice('Bearer '.length) ?? '') as { sub?: unknown };
  if (typeof claims.sub !== 'string') throw new Error('no sub');
  return claims.sub;
};

if (CONTRACT) {
  // Verified once per request, before validation, as our gateway's preValidation does.
  app.decorateRequest('customer', '');
  app.addHook('preValidation', (request, _reply, done) => {
    (request as { customer?: string }).customer = customerOf(request.headers.authorization);
    done();
  });
  const requests = new Counter({
    name: 'floor_requests_total',
    help: 'requests',
    labelNames: ['method', 'route', 'status'],
  });
  const latency = new Histogram({
    name: 'floor_request_seconds',
    help: 'latency',
    labelNames: ['method', 'route'],
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: reply.statusCode });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
  await app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    max: Number.MAX_SAFE_INTEGER,
    timeWindow: 1_000,
    cache: RATE_LIMIT_CUSTOMERS_MAX,
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    keyGenerator: (request) => (request as { customer?: string }).customer ?? '',
  });
}

const orderBody = {
  type: 'object',
  additionalProperties: false,
  required: ['quantity'],
  properties: { quantity: { type: 'integer', minimum: 1, maximum: 1_000 } },
} as const;

app.post<{ Params: { saleId: string }; Body: { quantity: number } }>(
  '/v1/sales/:saleId/orders',
  CONTRACT ? { schema: { body: orderBody }, config: { rateLimit: {} } } : {},
  async (request, reply) => {
    if (CONTRACT && request.params.saleId === SOLD_OUT_SALE)
      return reply.code(409).type('application/json').send(SOLD_OUT_BODY);
    return reply.code(201).send(await place(request.body.quantity));
  },
);

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 });
process.on('SIGTERM', () => process.exit(0));
