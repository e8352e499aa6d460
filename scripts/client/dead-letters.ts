import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type ConfirmedOrderMessage,
  type DeadLetterMessage,
  encodeMessage,
  ORDERS_DEAD_LETTER_STREAM,
  ordersRetrySubject,
} from '../../engine/protocol/index.js';

// Dead-lettered shipments, read and put back for delivery. A replay publishes the order on
// `orders.retry.<saleId>` (in ORDERS, so the agents' `shipping` consumer picks it up; a new
// message id, since ORDERS de-duplicates on the orderId) and only then removes the dead letter.
// Replaying twice is harmless: the carrier makes one shipment per orderId.

export interface DeadLetter extends DeadLetterMessage {
  readonly seq: number;
}

export async function readDeadLetters(nc: NatsConnection): Promise<DeadLetter[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(ORDERS_DEAD_LETTER_STREAM);
  const letters: DeadLetter[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq += 1) {
    const stored = await jsm.streams
      .getMessage(ORDERS_DEAD_LETTER_STREAM, { seq })
      .catch(() => null);
    if (stored === null) continue; // deleted (already replayed)
    letters.push({ ...stored.json<DeadLetterMessage>(), seq });
  }
  return letters;
}

export async function replayDeadLetters(
  nc: NatsConnection,
  filter: (letter: DeadLetter) => boolean = () => true,
): Promise<DeadLetter[]> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const replayed: DeadLetter[] = [];
  for (const letter of await readDeadLetters(nc)) {
    if (!filter(letter)) continue;
    const order: ConfirmedOrderMessage = {
      orderId: letter.orderId,
      saleId: letter.saleId,
      customerId: letter.customerId,
      quantity: letter.quantity,
      createdAt: letter.createdAt,
    };
    await js.publish(ordersRetrySubject(letter.saleId), encodeMessage(order), {
      msgID: `${letter.orderId}:replay:${letter.seq}`,
    });
    await jsm.streams.deleteMessage(ORDERS_DEAD_LETTER_STREAM, letter.seq);
    replayed.push(letter);
  }
  return replayed;
}
