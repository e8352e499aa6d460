import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { type ConsumerMessages, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
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
import { EngineReports } from './engine-reports.js';
import { AgentMetrics } from './metrics.js';
import { CustomerNotifier } from './notifications.js';
import { StopReleases } from './stop-releases.js';
import { ensureAgentStreams } from './streams.js';

// The shipping agent: pulls confirmed orders from the durable consumer `shipping` (several agents
// share it), works on up to SHIPPING_CONCURRENCY deliveries at once, and stops gracefully: no new
// pulls, the deliveries in hand finish (their waits cut short), then out. With
// SHIPPING_ENGINE_WAITERS_MAX set (sales spread over several engines), a delivery waiting for an
// engine that doesn't answer leaves its slot to others while it waits, and queues for one again
// when it goes on, so that one engine's absence doesn't stop the shipments of the others. In all,
// an agent holds at most SHIPPING_CONCURRENCY + SHIPPING_ENGINE_WAITERS_MAX deliveries.

/** A pull waits this long for messages before asking again (an idle agent's heartbeat). */
export const FETCH_EXPIRES_MS = 5_000;
/** Pause after a failed pull (NATS reconnecting, the consumer being recreated). */
export const FETCH_RETRY_MS = 1_000;

export interface RunningAgent {
  readonly metrics: AgentMetrics;
  /** Resolves once the pull loop has ended and every delivery in hand is settled. */
  stop(): Promise<void>;
}

export async function startAgent(
  nc: NatsConnection,
  config: AgentConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<RunningAgent> {
  await ensureAgentStreams(await jetstreamManager(nc), config, logger, signal);
  const stopReleases = await StopReleases.open(nc);
  const js = jetstream(nc);
  const carrier = new CarrierClient(config.carrierUrl, config.carrier);
  const breaker = new CarrierBreaker(carrier, config.breaker, logger);
  let inflight = 0;
  /** Deliveries in hand waiting for an engine that doesn't answer: they hold no slot. */
  let waitingForEngine = 0;
  /**
   * Deliveries in hand waiting for a slot, in order: back from an engine wait, or brought by a
   * pull that was open when the slots filled up. They hold none yet.
   */
  const slotQueue: (() => void)[] = [];
  const metrics = new AgentMetrics(
    () => breaker.state,
    () => inflight,
    () => waitingForEngine,
  );
  const stopping = new AbortController();
  // Every pausing delivery listens for the stop until its pause ends: as many at once as there are
  // deliveries in hand (up to SHIPPING_CONCURRENCY), each removed when its pause ends: not a leak.
  setMaxListeners(0, stopping.signal);

  const deps: DeliveryDeps = {
    breaker,
    engine: new EngineReports(nc, config.engineRequestTimeoutMs),
    notifier: new CustomerNotifier(js),
    deadLetter: async (message: DeadLetterMessage, msgId: string) => {
      await js.publish(ordersDeadSubject(message.saleId), encodeMessage(message), { msgID: msgId });
    },
    stopReleases,
    metrics,
    logger,
    attempts: config.carrier.attempts,
    retryBaseMs: config.carrier.retryBaseMs,
    maxDeliver: config.maxDeliver,
    ackWaitMs: config.ackWaitMs,
    backoffMs: config.backoffMs,
    engineWaitMs: config.engineWaitMs,
    stopping: () => stopping.signal.aborted,
    engineWaitStarted: () => {
      waitingForEngine += 1;
      slotReleased();
    },
    engineWaitEnded: () => {
      waitingForEngine -= 1;
      return takeSlot();
    },
    // The timer's own abort handling: a listener added per pause by hand outlived its timer, and
    // a delivery waiting for the engine pauses every second.
    pause: (ms) => delay(ms, undefined, { signal: stopping.signal }).catch(() => undefined),
  };

  const consumer = await js.consumers.get(ORDERS_STREAM, SHIPPING_CONSUMER);
  let slotFreed: (() => void) | null = null;
  let allSettled: (() => void) | null = null;
  let batch: ConsumerMessages | null = null;

  function wakePuller(): void {
    const freed = slotFreed;
    slotFreed = null;
    freed?.();
  }

  /** Deliveries holding a slot: at most SHIPPING_CONCURRENCY. */
  const working = (): number => inflight - waitingForEngine - slotQueue.length;

  /** Resolves once the delivery holds a slot: at once if one is free and nobody queues for one. */
  function takeSlot(): Promise<void> {
    return new Promise((resolve) => {
      slotQueue.push(resolve);
      slotReleased();
    });
  }

  /** A slot may be free: the queue takes it first, in order, then the puller may fetch. */
  function slotReleased(): void {
    // working() counts the queue out: admitting the head (shift) makes it one more working.
    while (slotQueue.length > 0 && working() < config.concurrency) slotQueue.shift()!();
    wakePuller();
  }

  /** Messages the agent may take now: free slots, within the bound on deliveries held. */
  function room(): number {
    if (slotQueue.length > 0) return 0;
    const held = config.concurrency + config.engineWaitersMax - inflight;
    return Math.min(config.concurrency - working(), held);
  }

  function start(msg: JsMsg): void {
    inflight += 1;
    // A fetch stays open for up to FETCH_EXPIRES_MS: what it brings after the slots filled up
    // (deliveries back from an engine wait took them) waits its turn like those did, telling
    // JetStream meanwhile that it is in hand (else it would go to another agent after ack_wait).
    const inHand = setInterval(() => msg.working(), config.ackWaitMs / 2);
    void takeSlot()
      .then(() => {
        clearInterval(inHand);
        return deliver(msg, deps);
      })
      .then(
        (outcome) => metrics.delivered(outcome, msg.info.deliveryCount),
        (error: unknown) => {
          // A bug, not a carrier problem: leave the message to be redelivered after ack_wait.
          logger.error({ err: error, seq: msg.seq }, 'delivery failed unexpectedly');
        },
      )
      .finally(() => {
        inflight -= 1;
        slotReleased();
        if (inflight === 0) allSettled?.();
      });
  }

  // Pull only as many messages as there are free slots: a message waiting in a client-side
  // buffer would keep its ack_wait running and come back to another agent as a duplicate.
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const free = room();
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
        });
        continue;
      }
      try {
        batch = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        for await (const msg of batch) start(msg);
      } catch (error) {
        if (stopping.signal.aborted) break;
        logger.warn({ err: error }, 'pulling from ORDERS failed; retrying');
        await deps.pause(FETCH_RETRY_MS);
      } finally {
        batch = null;
      }
    }
  })();
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
    },
    'shipping agent pulling',
  );

  return {
    metrics,
    async stop() {
      stopping.abort();
      breaker.wakeVerdictWaiters();
      wakePuller();
      await (batch as ConsumerMessages | null)?.close();
      await loop;
      if (inflight > 0)
        await new Promise<void>((resolve) => {
          allSettled = resolve;
        });
      breaker.shutdown();
      await carrier.close();
    },
  };
}
