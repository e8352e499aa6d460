import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState } from './carrier-breaker.js';
import type { DeliveryOutcome } from './delivery-decision.js';

// The agent's Prometheus metrics on a small HTTP port (`GET /metrics`): deliveries by outcome,
// carrier calls and their latency, redeliveries, dead letters, and the breaker's state.

const PREFIX = 'flashsale_shipping_';
/** Seconds: a healthy carrier answers in tens of ms; a sick one takes until the timeout. */
const CARRIER_LATENCY_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, halfOpen: 1, open: 2 };

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly deliveries: Counter<'outcome'>;
  private readonly redeliveries: Counter;
  private readonly carrierCalls: Counter<'result'>;
  private readonly carrierLatency: Histogram;

  constructor(
    breakerState: () => BreakerState,
    inflight: () => number,
    waitingForEngine: () => number,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.deliveries = new Counter({
      name: `${PREFIX}deliveries_total`,
      help: 'Deliveries handled, by outcome (dead_lettered: alert on any)',
      labelNames: ['outcome'],
      registers,
    });
    this.redeliveries = new Counter({
      name: `${PREFIX}redeliveries_total`,
      help: 'Deliveries that were not the first for their message',
      registers,
    });
    this.carrierCalls = new Counter({
      name: `${PREFIX}carrier_calls_total`,
      help: 'Calls to the carrier (attempts), by result',
      labelNames: ['result'],
      registers,
    });
    this.carrierLatency = new Histogram({
      name: `${PREFIX}carrier_latency_seconds`,
      help: 'Time for one carrier call',
      buckets: CARRIER_LATENCY_BUCKETS_S,
      registers,
    });
    new Gauge({
      name: `${PREFIX}breaker_state`,
      help: 'Carrier circuit breaker: 0 closed, 1 half-open, 2 open',
      registers,
      collect() {
        this.set(BREAKER_STATE_VALUE[breakerState()]);
      },
    });
    new Gauge({
      name: `${PREFIX}deliveries_inflight`,
      help: 'Deliveries this agent is working on',
      registers,
      collect() {
        this.set(inflight());
      },
    });
    new Gauge({
      name: `${PREFIX}deliveries_waiting_for_engine`,
      help: 'Deliveries in hand waiting for an engine that does not answer (holding no slot)',
      registers,
      collect() {
        this.set(waitingForEngine());
      },
    });
  }

  delivered(outcome: DeliveryOutcome, deliveryCount: number): void {
    this.deliveries.inc({ outcome });
    if (deliveryCount > 1) this.redeliveries.inc();
  }

  carrierCall(result: 'ok' | 'failed', ms: number): void {
    this.carrierCalls.inc({ result });
    this.carrierLatency.observe(ms / 1000);
  }
}
