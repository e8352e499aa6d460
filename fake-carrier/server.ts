import { setMaxListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { type Static, Type } from '@sinclair/typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { OUTAGE_MS_CEILING } from './config.js';
import {
  drawFate,
  drawLatencyMs,
  type Faults,
  FaultsSchema,
  NO_FAULTS,
  type Random,
} from './faults.js';
import { ShipmentBook } from './shipments.js';

// The fake carrier: a real HTTP server standing in for the slow, flaky external shipping carrier,
// with faults set at start and changed at run time through admin routes. Built here without
// listening, so tests can use it in-process and main.ts can listen.

const BODY_BYTES_MAX = 4_096;
const IDEMPOTENCY_KEY_CHARS_MAX = 128;
const ORDER_ID_CHARS_MAX = 128;
const SALE_ID_CHARS_MAX = 64;
const CUSTOMER_ID_CHARS_MAX = 128;
const QUANTITY_MAX = 1_000_000;

const ShipmentHeaders = Type.Object({
  'idempotency-key': Type.String({ minLength: 1, maxLength: IDEMPOTENCY_KEY_CHARS_MAX }),
});
const ShipmentBody = Type.Object(
  {
    orderId: Type.String({ minLength: 1, maxLength: ORDER_ID_CHARS_MAX }),
    saleId: Type.String({ minLength: 1, maxLength: SALE_ID_CHARS_MAX }),
    customerId: Type.String({ minLength: 1, maxLength: CUSTOMER_ID_CHARS_MAX }),
    quantity: Type.Integer({ minimum: 1, maximum: QUANTITY_MAX }),
  },
  { additionalProperties: false },
);
const OutageBody = Type.Object(
  { ms: Type.Integer({ minimum: 1, maximum: OUTAGE_MS_CEILING }) },
  { additionalProperties: false },
);
const FaultsPatch = Type.Partial(FaultsSchema);

/** What `GET /admin/shipments` answers. */
export interface CarrierStats {
  /** Shipments created. */
  readonly total: number;
  /** `POST /shipments` received, whatever became of them. */
  readonly calls: number;
  /** Calls not answered yet: waiting out their latency, held, or being answered. */
  readonly inFlight: number;
  /** The most calls in flight at once (since start or reset): what a client's bound let through. */
  readonly inFlightMax: number;
  /** Shipments created per orderId: 1 for each order unless idempotency failed somewhere. */
  readonly byOrder: Readonly<Record<string, number>>;
}

/** What the outage routes answer. */
export interface OutageState {
  readonly down: boolean;
  readonly remainingMs: number;
}

export interface CarrierOptions {
  readonly logger: Logger;
  readonly faults?: Faults;
  /** An outage from the start for this long (0: none). */
  readonly outageMs?: number;
  /** Decides every fault; a test may pass its own. */
  readonly random?: Random;
}

/** What the carrier knows at run time: its faults, its outage, its shipments and its calls. */
class CarrierState {
  faults: Faults;
  outageEndsAtMs: number;
  readonly book = new ShipmentBook();
  calls = 0;
  inFlightMax = 0;
  /** Every `POST /shipments` not answered yet, with its connection, to cut on close. */
  readonly unanswered = new Map<ServerResponse, Socket>();
  /** Aborted on close: calls waiting out their latency stop waiting. */
  readonly closing = new AbortController();

  constructor(
    options: CarrierOptions,
    readonly random: Random = options.random ?? Math.random,
  ) {
    this.faults = { ...(options.faults ?? NO_FAULTS) };
    this.outageEndsAtMs = performance.now() + (options.outageMs ?? 0);
    // One listener per call waiting out its latency: thousands at once are expected, not a leak.
    setMaxListeners(0, this.closing.signal);
  }

  outage(): OutageState {
    const remainingMs = Math.max(0, Math.ceil(this.outageEndsAtMs - performance.now()));
    return { down: remainingMs > 0, remainingMs };
  }

  stats(): CarrierStats {
    return {
      total: this.book.total,
      calls: this.calls,
      inFlight: this.unanswered.size,
      inFlightMax: this.inFlightMax,
      byOrder: this.book.countsByOrder(),
    };
  }
}

export async function buildCarrier(options: CarrierOptions): Promise<FastifyInstance> {
  const state = new CarrierState(options);
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: BODY_BYTES_MAX,
    // Thousands of calls per test run: a line per request would drown the ones that matter.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  // A held call is never answered, so Fastify's close would wait for it forever: the carrier
  // drops every call it has not answered, as a real one going down would.
  app.addHook('preClose', async () => {
    state.closing.abort();
    for (const socket of state.unanswered.values()) socket.destroy();
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (error.validation !== undefined || (status >= 400 && status < 500))
      return reply.code(400).send({ error: 'INVALID_REQUEST', message: error.message });
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send({ error: 'INTERNAL_ERROR', message: 'Unexpected error.' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'NOT_FOUND', message: `No route ${request.method} ${request.url}` }),
  );
  registerShipments(app, state);
  registerAdmin(app, state);
  app.get('/health', async () => ({ status: 'ok' }));
  return app;
}

function registerShipments(app: FastifyInstance, state: CarrierState): void {
  app.post<{ Body: Static<typeof ShipmentBody>; Headers: Static<typeof ShipmentHeaders> }>(
    '/shipments',
    {
      schema: { headers: ShipmentHeaders, body: ShipmentBody },
      // Counted on arrival, before validation: every call the carrier received.
      onRequest: async (request, reply) => {
        state.calls += 1;
        const response = reply.raw;
        state.unanswered.set(response, request.raw.socket);
        state.inFlightMax = Math.max(state.inFlightMax, state.unanswered.size);
        // 'close' comes once the reply is sent or the connection is gone, whichever is first.
        response.once('close', () => {
          state.unanswered.delete(response);
          if (!response.writableFinished)
            request.log.debug(
              { inFlight: state.unanswered.size },
              'shipment call ended unanswered',
            );
        });
      },
    },
    async (request, reply) => {
      if (state.outage().down)
        return reply.code(503).send({ error: 'CARRIER_DOWN', message: 'The carrier is down.' });
      const latencyMs = drawLatencyMs(state.faults, state.random);
      if (latencyMs > 0) {
        try {
          await delay(latencyMs, undefined, { signal: state.closing.signal });
        } catch {
          // Closing: the connection is already cut, there is no one to answer.
          reply.hijack();
          return;
        }
      }
      const { orderId } = request.body;
      const fate = drawFate(state.faults, state.random);
      if (fate === 'hold') {
        request.log.debug({ orderId, inFlight: state.unanswered.size }, 'shipment call held');
        reply.hijack();
        return;
      }
      if (fate === 'fail')
        return reply
          .code(503)
          .send({ error: 'CARRIER_ERROR', message: 'The carrier failed; nothing was shipped.' });
      const { shipment, created } = state.book.ship(
        request.headers['idempotency-key'],
        request.body,
      );
      if (created)
        request.log.debug({ orderId, trackingId: shipment.trackingId }, 'shipment created');
      if (fate === 'lose-reply')
        return reply.code(500).send({ error: 'INTERNAL_ERROR', message: 'Unexpected error.' });
      return reply
        .code(created ? 201 : 200)
        .send({ trackingId: shipment.trackingId, orderId: shipment.orderId, created });
    },
  );
}

/** The routes tests and demos use to read the carrier and make it misbehave. */
function registerAdmin(app: FastifyInstance, state: CarrierState): void {
  app.get('/admin/shipments', async () => state.stats());
  app.put<{ Body: Static<typeof FaultsPatch> }>(
    '/admin/faults',
    { schema: { body: FaultsPatch } },
    async (request): Promise<Faults> => {
      state.faults = { ...state.faults, ...request.body };
      request.log.info({ faults: state.faults }, 'carrier faults set');
      return state.faults;
    },
  );
  app.post<{ Body: Static<typeof OutageBody> }>(
    '/admin/outage',
    { schema: { body: OutageBody } },
    async (request): Promise<OutageState> => {
      state.outageEndsAtMs = performance.now() + request.body.ms;
      request.log.info({ ms: request.body.ms }, 'carrier outage started');
      return state.outage();
    },
  );
  app.delete('/admin/outage', async (request): Promise<OutageState> => {
    state.outageEndsAtMs = 0;
    request.log.info('carrier outage ended');
    return state.outage();
  });
  app.post('/admin/reset', async (request): Promise<CarrierStats> => {
    state.book.clear();
    state.calls = 0;
    state.inFlightMax = state.unanswered.size;
    request.log.info('carrier shipments and counters cleared');
    return state.stats();
  });
}
