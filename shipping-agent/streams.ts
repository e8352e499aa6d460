import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  CUSTOMER_NOTIFICATIONS_WILDCARD,
  NOTIFICATIONS_STREAM,
  ORDERS_DEAD_LETTER_STREAM,
  ORDERS_DEAD_WILDCARD,
  ORDERS_STREAM,
  SHIPPING_CONSUMER,
} from '../engine/protocol/index.js';
import { ensureStream, isJetStreamError } from '../service-kit/jetstream-stream.js';
import type { AgentConfig } from './config.js';

// What the agent needs in JetStream, created or brought in line at start with explicit settings:
// the durable pull consumer `shipping` on ORDERS (the engine owns ORDERS itself), the dead-letter
// stream, and the customer notifications stream. (The bucket of stop releases, which the consumer's
// delivery count needs beside it, is stop-releases.ts.)

export const DEAD_LETTER_MAX_AGE_MS = 30 * 24 * 3_600_000;
/**
 * De-duplicates a message's dead letter (`<orderId>:<stream seq>`), which a delivery that could
 * not record SHIPPING_FAILED leaves to the next one to publish again, possibly much later.
 */
export const DEAD_LETTER_DUPLICATE_WINDOW_MS = 24 * 3_600_000;
export const NOTIFICATIONS_MAX_AGE_MS = 7 * 24 * 3_600_000;
/** De-duplicates repeated notifications (`<orderId>:<status>`) within this window. */
export const NOTIFICATIONS_DUPLICATE_WINDOW_MS = 24 * 3_600_000;
export const SIDE_STREAM_BYTES_MAX = 256 * 1024 * 1024;
/** JetStream's "no limit" for a consumer's max_deliver. */
const UNLIMITED_DELIVERIES = -1;
/** How often to look again for ORDERS while the engine has not created it yet. */
export const ORDERS_STREAM_POLL_MS = 500;

export async function ensureAgentStreams(
  jsm: JetStreamManager,
  config: AgentConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const common = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_bytes: SIDE_STREAM_BYTES_MAX,
    num_replicas: config.replicas,
  };
  await ensureStream(jsm, {
    ...common,
    name: ORDERS_DEAD_LETTER_STREAM,
    subjects: [ORDERS_DEAD_WILDCARD],
    max_age: nanos(DEAD_LETTER_MAX_AGE_MS),
    duplicate_window: nanos(DEAD_LETTER_DUPLICATE_WINDOW_MS),
    // Full means an operator has ignored thousands of failed shipments: refuse, don't forget.
    discard: DiscardPolicy.New,
  });
  await ensureStream(jsm, {
    ...common,
    name: NOTIFICATIONS_STREAM,
    subjects: [CUSTOMER_NOTIFICATIONS_WILDCARD],
    max_age: nanos(NOTIFICATIONS_MAX_AGE_MS),
    duplicate_window: nanos(NOTIFICATIONS_DUPLICATE_WINDOW_MS),
  });

  // ORDERS is the engine's: wait for it rather than create it with other settings.
  for (let announced = false; ; announced = true) {
    try {
      await jsm.streams.info(ORDERS_STREAM);
      break;
    } catch (error) {
      if (!isJetStreamError(error, JetStreamApiCodes.StreamNotFound)) throw error;
      if (!announced) logger.info('waiting for the engine to create the ORDERS stream');
      if (signal.aborted) throw new Error('stopped while waiting for ORDERS');
      await new Promise((resolve) => setTimeout(resolve, ORDERS_STREAM_POLL_MS));
    }
  }
  const consumer = {
    durable_name: SHIPPING_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(config.ackWaitMs),
    // Unlimited: the agent counts deliveries itself (SHIPPING_MAX_DELIVER) and dead-letters the
    // last. Were JetStream to give a message up, one whose last delivery died with its agent
    // would leave shipping, told only by an advisory that no agent may be there to hear.
    max_deliver: UNLIMITED_DELIVERIES,
    max_ack_pending: config.maxAckPending,
  };
  try {
    await jsm.consumers.info(ORDERS_STREAM, SHIPPING_CONSUMER);
    const { ack_wait, max_deliver, max_ack_pending } = consumer;
    await jsm.consumers.update(ORDERS_STREAM, SHIPPING_CONSUMER, {
      ack_wait,
      max_deliver,
      max_ack_pending,
    });
  } catch (error) {
    if (!isJetStreamError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(ORDERS_STREAM, consumer);
    logger.info({ consumer: SHIPPING_CONSUMER }, 'created the shipping consumer');
  }
}
