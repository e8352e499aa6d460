import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

// What a row made each stack's NATS store: messages appended to each JetStream stream (its last
// sequence, before and after the row), per accepted order. On the rehearsal every one of them is
// stored by three nodes (3 replicas), on npm start by one: this is most of what the three
// nats-servers do for an order (SALE_LOG's batches, the ORDERS outbox, the notifications, the
// agent's acknowledgements are consumer state, not counted here).

/** A few requests on a stack that is up: a slow answer means something else is wrong. */
const NATS_TIMEOUT_MS = 5_000;
/** Streams read at most (the stacks have about ten). */
const STREAMS_MAX = 100;

/** Stream name → its last sequence. */
export type StreamSequences = ReadonlyMap<string, number>;

export async function streamSequences(natsUrls: readonly string[]): Promise<StreamSequences> {
  const nc = await connect({ servers: [...natsUrls], timeout: NATS_TIMEOUT_MS });
  try {
    const jsm = await jetstreamManager(nc, { timeout: NATS_TIMEOUT_MS });
    const sequences = new Map<string, number>();
    for await (const info of jsm.streams.list()) {
      if (sequences.size >= STREAMS_MAX) break;
      sequences.set(info.config.name, info.state.last_seq);
    }
    return sequences;
  } finally {
    await nc.close();
  }
}

/** Messages appended to each stream per order, most first; streams with none left out. */
export function appendsPerOrder(
  before: StreamSequences,
  after: StreamSequences,
  orders: number,
): [string, number][] {
  if (orders <= 0) return [];
  return [...after]
    .map(([stream, last]): [string, number] => [
      stream,
      (last - (before.get(stream) ?? 0)) / orders,
    ])
    .filter(([, perOrder]) => perOrder > 0)
    .sort((a, b) => b[1] - a[1]);
}
