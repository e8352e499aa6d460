import { type ConsumerMessages, jetstream, jetstreamManager } from '@nats-io/jetstream';
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
import { ensureAgentStreams } from './streams.js';

// The shipping agent: pulls confirmed orders from the durable consumer `shipping` (several agents
// share it), works on up to SHIPPING_CONCURRENCY deliveries at once, and stops gracefully: no new
// pulls, the deliveries in hand finish (their waits cut short), then out.

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
  const jsm = await jetstreamManager(nc);
  await ensureAgentStreams(jsm, config, logger, signal);
  const js = jetstream(nc);
  const carrier = new CarrierClient(config.carrierUrl, config.carrier);
  const breaker = new CarrierBreaker(carrier, config.breaker, logger);
  let inflight = 0;
  const metrics = new AgentMetrics(
    () => breaker.state,
    () => inflight,
  );
  const stopping = new AbortController();

  const deps: DeliveryDeps = {
    breaker,
    engine: new EngineReports(nc, config.engineRequestTimeoutMs),
    notifier: new CustomerNotifier(js),
    deadLetter: async (message: DeadLetterMessage, msgId: string) => {
      await js.publish(ordersDeadSubject(message.saleId), encodeMessage(message), { msgID: msgId });
    },
    metrics,
    logger,
    attempts: config.carrier.attempts,
    retryBaseMs: config.carrier.retryBaseMs,
    maxDeliver: config.maxDeliver,
    backoffMs: config.backoffMs,
    stopping: () => stopping.signal.aborted,
    pause: (ms) =>
      new Promise((resolve) => {
        if (stopping.signal.aborted) return resolve();
        const timer = setTimeout(resolve, ms);
        stopping.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };

  const consumer = await js.consumers.get(ORDERS_STREAM, SHIPPING_CONSUMER);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: config.concurrency });
  let slotFreed: (() => void) | null = null;
  let allSettled: (() => void) | null = null;

  const loop = (async () => {
    for await (const msg of messages) {
      while (inflight >= config.concurrency)
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
        });
      inflight += 1;
      void deliver(msg, deps)
        .then(
          (outcome) => metrics.delivered(outcome, msg.info.deliveryCount),
          (error: unknown) => {
            // A bug, not a carrier problem: leave the message to be redelivered after ack_wait.
            logger.error({ err: error, seq: msg.seq }, 'delivery failed unexpectedly');
          },
        )
        .finally(() => {
          inflight -= 1;
          const freed = slotFreed;
          slotFreed = null;
          freed?.();
          if (inflight === 0) allSettled?.();
        });
    }
  })();
  logger.info(
    { carrier: config.carrierUrl, concurrency: config.concurrency, maxDeliver: config.maxDeliver },
    'shipping agent pulling',
  );

  return {
    metrics,
    async stop() {
      stopping.abort();
      await messages.close();
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
