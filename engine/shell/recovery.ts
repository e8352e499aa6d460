import type { WalRecord, WalSnapshot } from '../../wal/index.js';
import { evolve } from '../core/evolve.js';
import {
  fromSnapshotData,
  SNAPSHOT_FORMAT_VERSION,
  type SnapshotCursor,
  type SnapshotData,
  type TupleSnapshotData,
} from '../core/snapshot.js';
import { type EngineState, initialState, orderOf } from '../core/types.js';
import { decodeEvent } from './event-codec.js';
import { outboxMessageOf } from './order-messages.js';
import type { OutboxMessage } from './outbox.js';

// Recovery: the newest snapshot, then every event after it through the same `evolve` that built
// the state live. The outbox is rebuilt alongside: every confirmed order above the watermark is
// published again (JetStream drops the duplicates by orderId).

export const SNAPSHOT_ENVELOPE_VERSION = 1;

interface SnapshotEnvelope {
  readonly version: typeof SNAPSHOT_ENVELOPE_VERSION;
  /** Format 1 (tuples) when written before the upgrade to blocks. */
  readonly core: SnapshotData | TupleSnapshotData;
  /** Outbox messages not yet acknowledged when the snapshot was taken: [lsn, orderId]. */
  readonly outbox: readonly (readonly [number, string])[];
}

/**
 * The snapshot payload, built a step at a time (`between` runs between steps: the actor's
 * commands go on meanwhile), so a state of a million orders does not stop the engine for
 * seconds. The bytes are the envelope `recoverState` parses.
 */
export async function encodeSnapshot(
  cursor: SnapshotCursor,
  outbox: readonly OutboxMessage[],
  stepOrders: number,
  between: () => Promise<void>,
): Promise<Buffer[]> {
  // In pieces, each step's orders a block of their own, encoded to bytes at once: joining a large
  // state into one string, then one buffer, held the event loop for ~110 ms at 300k orders. The
  // pieces read as one JSON document once the WAL has stored them end to end.
  const pieces = [
    Buffer.from(
      `{"version":${SNAPSHOT_ENVELOPE_VERSION},"core":{"version":${SNAPSHOT_FORMAT_VERSION},"sales":${JSON.stringify(cursor.sales)},"orders":[`,
    ),
  ];
  let separator = '';
  for (;;) {
    const block = cursor.next(stepOrders);
    if (block.sequence.length > 0) {
      pieces.push(Buffer.from(separator + JSON.stringify(block)));
      separator = ',';
    }
    if (cursor.done) break;
    await between();
  }
  const pending = JSON.stringify(outbox.map((m) => [m.lsn, m.msgId]));
  pieces.push(Buffer.from(`]},"outbox":${pending}}`));
  return pieces;
}

export interface Recovered {
  readonly state: EngineState;
  readonly outbox: OutboxMessage[];
  readonly records: number;
}

export function recoverState(
  snapshot: WalSnapshot | null,
  records: Iterable<WalRecord>,
  watermark: number,
): Recovered {
  let state = initialState();
  const outbox: OutboxMessage[] = [];
  if (snapshot !== null) {
    const envelope = JSON.parse(snapshot.payload.toString()) as SnapshotEnvelope;
    if (envelope.version !== SNAPSHOT_ENVELOPE_VERSION)
      throw new Error(`snapshot ${snapshot.lsn} has envelope version ${String(envelope.version)}`);
    state = fromSnapshotData(envelope.core);
    for (const [lsn, orderId] of envelope.outbox) {
      const order = orderOf(state, orderId);
      if (order === undefined) throw new Error(`snapshot outbox names unknown order ${orderId}`);
      if (lsn > watermark) outbox.push(outboxMessageOf(order, lsn));
    }
  }
  let count = 0;
  for (const record of records) {
    const event = decodeEvent(record.payload, record.lsn);
    evolve(state, event);
    count += 1;
    if (event.type === 'OrderPlaced' && record.lsn > watermark)
      outbox.push(outboxMessageOf(orderOf(state, event.orderId)!, record.lsn));
  }
  return { state, outbox, records: count };
}
