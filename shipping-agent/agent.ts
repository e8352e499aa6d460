import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type Consumer,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  type DeadLetterMessage,
  encodeMessage,
  ORDERS_STREAM,
  ordersDeadSubject,
  SHIPPING_CONSUMER,
} from '../engine/protocol/index.js';
import { CarrierBreaker } from './carrier-breaker.js';
import { CarrierClient } from './carrier-client.js';
import type { AgentConfig } from './config.js';
import { type DeliveryDeps, deliver } from './delivery.js';
import { DeliverySlots } from './delivery-slots.js';
import { EngineReports } from './engine-reports.js';
import { AgentMetrics } from './metrics.js';
import { CustomerNotifier } from './notifications.js';
import { type Puller, pullOrders } from './order-puller.js';
import { settleBound, settleBoundSettings } from './settle-bound.js';
import { StopReleases } from './stop-releases.js';
import { ensureAgentStreams } from './streams.js';

// The shipping agent: pulls confirmed orders from the durable consumer `shipping` (several agents
// share it), works on up to SHIPPING_CONCURRENCY deliveries at once (delivery-slots.ts), and
// stops gracefully: no new pulls, the deliveries in hand finish (their waits cut short), then out.
// Wired in steps: open what it needs in NATS and towards the carrier, build a delivery's
// dependencies, pull.

export interface RunningAgent {
  readonly metrics: AgentMetrics;
  /** Resolves once the pull loop has ended and every delivery in hand is settled. */
  stop(): Promise<void>;
}

/** What the agent opens at start and closes at the stop. */
interface AgentParts {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly consumer: Consumer;
  readonly stopReleases: StopReleases;
  readonly carrier: CarrierClient;
  readonly breaker: CarrierBreaker;
}

export async function startAgent(
  nc: NatsConnection,
  config: AgentConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<RunningAgent> {
  const parts = await openParts(nc, config, logger, signal);
  const stopping = new AbortController();
  // Every pausing delivery listens for the stop until its pause ends: as many at once as there are
  // deliveries in hand (up to SHIPPING_CONCURRENCY), each removed when its pause ends: not a leak.
  setMaxListeners(0, stopping.signal);
  const slots = new DeliverySlots(config.concurrency, config.engineWaitersMax);
  const metrics = new AgentMetrics(
    () => parts.breaker.state,
    () => slots.inHand,
    () => slots.waitingForAnEngine,
  );
  const deps = deliveryDeps(parts, config, logger, slots, metrics, stopping.signal);
  const puller = pullOrders(parts.consumer, {
    slots,
    start: (msg) => startDelivery(msg, deps, slots, metrics, config.ackWaitMs),
    signal: stopping.signal,
    pause: deps.pause,
    logger,
  });
  announce(config, logger);
  return {
    metrics,
    stop: () => stopAgent(stopping, parts, puller, slots),
  };
}

async function openParts(
  nc: NatsConnection,
  config: AgentConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<AgentParts> {
  await ensureAgentStreams(await jetstreamManager(nc), config, logger, signal);
  const stopReleases = await StopReleases.open(nc, config.replicas);
  const js = jetstream(nc);
  const consumer = await js.consumers.get(ORDERS_STREAM, SHIPPING_CONSUMER);
  const carrier = new CarrierClient(config.carrierUrl, config.carrier);
  const breaker = new CarrierBreaker(carrier, config.breaker, logger, () => performance.now());
  return { nc, js, consumer, stopReleases, carrier, breaker };
}

function deliveryDeps(
  parts: AgentParts,
  config: AgentConfig,
  logger: Logger,
  slots: DeliverySlots,
  metrics: AgentMetrics,
  stopping: AbortSignal,
): DeliveryDeps {
  const { js } = parts;
  return {
    breaker: parts.breaker,
    engine: new EngineReports(parts.nc, config.engineRequestTimeoutMs),
    notifier: new CustomerNotifier(js),
    deadLetter: async (message: DeadLetterMessage, msgId: string) => {
      await js.publish(ordersDeadSubject(message.saleId), encodeMessage(message), { msgID: msgId });
    },
    stopReleases: parts.stopReleases,
    carrierCall: (result, ms) => metrics.carrierCall(result, ms),
    logger,
    attempts: config.carrier.attempts,
    retryBaseMs: config.carrier.retryBaseMs,
    maxDeliver: config.maxDeliver,
    deadlineMs: config.deadlineMs,
    ackWaitMs: config.ackWaitMs,
    backoffMs: config.backoffMs,
    breakerResetMs: config.breaker.resetMs,
    engineWaitMs: config.engineWaitMs,
    stopping: () => stopping.aborted,
    engineWaitStarted: () => slots.engineWaitStarted(),
    engineWaitEnded: () => slots.engineWaitEnded(),
    // The timer's own abort handling: a listener added per pause by hand outlived its timer, and
    // a delivery waiting for the engine pauses every second.
    pause: (ms) => delay(ms, undefined, { signal: stopping }).catch(() => undefined),
    monotonicMs: () => performance.now(),
    wallClockMs: () => Date.now(),
    random: Math.random,
  };
}

/** One pulled message: in hand at once, delivered once it holds a slot, settled in the end. */
function startDelivery(
  msg: JsMsg,
  deps: DeliveryDeps,
  slots: DeliverySlots,
  metrics: AgentMetrics,
  ackWaitMs: number,
): void {
  // A fetch stays open for up to FETCH_EXPIRES_MS: what it brings after the slots filled up
  // (deliveries back from an engine wait took them) waits its turn like those did, telling
  // JetStream meanwhile that it is in hand (else it would go to another agent after ack_wait).
  const inHand = setInterval(() => msg.working(), ackWaitMs / 2);
  void slots
    .arrived()
    .then(() => {
      clearInterval(inHand);
      return deliver(msg, deps);
    })
    .then(
      (outcome) => metrics.delivered(outcome, msg.info.deliveryCount),
      (error: unknown) => {
        // A bug, not a carrier problem: leave the message to be redelivered after ack_wait.
        deps.logger.error({ err: error, seq: msg.seq }, 'delivery failed unexpectedly');
      },
    )
    .finally(() => slots.settled());
}

function announce(config: AgentConfig, logger: Logger): void {
  if (config.concurrency + config.engineWaitersMax > config.maxAckPending)
    logger.warn(
      {
        concurrency: config.concurrency,
        engineWaitersMax: config.engineWaitersMax,
        maxAckPending: config.maxAckPending,
      },
      'SHIPPING_CONCURRENCY + SHIPPING_ENGINE_WAITERS_MAX exceed SHIPPING_MAX_ACK_PENDING, ' +
        'which JetStream hands out at most across all agents',
    );
  logger.info(
    {
      carrier: config.carrierUrl,
      concurrency: config.concurrency,
      engineWaitersMax: config.engineWaitersMax,
      maxDeliver: config.maxDeliver,
      deadlineMs: config.deadlineMs,
      // An order is shipped or dead-lettered within this while the engine answers.
      settleMsMax: settleBound(settleBoundSettings(config)).settleMsMax,
    },
    'shipping agent pulling',
  );
}

async function stopAgent(
  stopping: AbortController,
  parts: AgentParts,
  puller: Puller,
  slots: DeliverySlots,
): Promise<void> {
  stopping.abort();
  parts.breaker.wakeVerdictWaiters();
  await puller.stop();
  await slots.empty();
  parts.breaker.shutdown();
  await parts.carrier.close();
}
