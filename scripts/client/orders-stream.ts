import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type ConfirmedOrderMessage, ORDERS_STREAM } from '../../engine/protocol/index.js';

// Reading the outbox's destination back, for tests and audits: what JetStream `ORDERS` holds.

const POLL_INTERVAL_MS = 100;

export interface StoredOrder extends ConfirmedOrderMessage {
  readonly msgId: string | undefined;
}

/** Every message in the ORDERS stream, in stream order. */
export async function readOrdersStream(nc: NatsConnection): Promise<StoredOrder[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(ORDERS_STREAM);
  const messages: StoredOrder[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq += 1) {
    const stored = await jsm.streams.getMessage(ORDERS_STREAM, { seq });
    if (stored === null) continue;
    messages.push({
      ...stored.json<ConfirmedOrderMessage>(),
      msgId: stored.header?.get('Nats-Msg-Id'),
    });
  }
  return messages;
}

/**
 * The stream's contents once it holds at least `count` messages, or as they are at the deadline.
 * JetStream offers no event for "the stream reached N", so this polls its message count, bounded.
 */
export async function waitForOrdersStream(
  nc: NatsConnection,
  count: number,
  timeoutMs: number,
): Promise<StoredOrder[]> {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + timeoutMs;
  while ((await jsm.streams.info(ORDERS_STREAM)).state.messages < count && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  return readOrdersStream(nc);
}
