import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ensureStream } from '../../service-kit/jetstream-stream.js';
import {
  ORDERS_CONFIRMED_WILDCARD,
  ORDERS_RETRY_WILDCARD,
  ORDERS_STREAM,
} from '../protocol/subjects.js';

// The engine creates (or brings in line) the JetStream stream it publishes to, with every setting
// explicit rather than the server's defaults.

export const ORDERS_MAX_AGE_MS = 7 * 24 * 3_600_000;
/** When full, JetStream refuses new messages (the outbox keeps them) rather than dropping old ones. */
export const ORDERS_BYTES_MAX = 1024 * 1024 * 1024;
export const ORDER_MESSAGE_BYTES_MAX = 4 * 1024;

export async function ensureOrdersStream(
  jsm: JetStreamManager,
  duplicateWindowMs: number,
  logger: Logger,
  replicas = 1,
): Promise<void> {
  const outcome = await ensureStream(jsm, {
    name: ORDERS_STREAM,
    subjects: [ORDERS_CONFIRMED_WILDCARD, ORDERS_RETRY_WILDCARD],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_age: nanos(ORDERS_MAX_AGE_MS),
    max_bytes: ORDERS_BYTES_MAX,
    max_msg_size: ORDER_MESSAGE_BYTES_MAX,
    duplicate_window: nanos(duplicateWindowMs),
    num_replicas: replicas,
  });
  if (outcome === 'created') logger.info({ stream: ORDERS_STREAM }, 'created the ORDERS stream');
}
