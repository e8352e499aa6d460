import { constants } from 'node:buffer';
import { SNAPSHOT_BYTES_MAX, type WalRecord, type WalSnapshot } from '../../wal/index.js';
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
 * The largest snapshot payload recovery can read: it parses the payload as one string, and V8
 * refuses strings past MAX_STRING_LENGTH (~512 MiB on 64-bit; a UTF-8 byte is at most one
 * character). A larger snapshot is refused while it is encoded rather than written: one that
 * can't be read back would stop the next start, while without it recovery replays the log.
 */
export const SNAPSHOT_PAYLOAD_BYTES_MAX = Math.min(SNAPSHOT_BYTES_MAX, constants.MAX_STRING_LENGTH);

/** The state has outgrown what a snapshot can hold: it only grows, so every later one would too. */
export class SnapshotTooLargeError extends RangeError {
  override readonly name = 'SnapshotTooLargeError';
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
  bytesMax = SNAPSHOT_PAYLOAD_BYTES_MAX,
): Promise<Buffer[]> {
  // In pieces, each step's orders a block of their own, encoded to bytes at once: joining a large
  // state into one string, then one buffer, held the event loop for ~110 ms at 300k orders. The
  // pieces read as one JSON document once the WAL has stored them end to end.
  const head = Buffer.from(
    `{"version":${SNAPSHOT_ENVELOPE_VERSION},"core":{"version":${SNAPSHOT_FORMAT_VERSION},"sales":${JSON.stringify(cursor.sales)},"orders":[`,
  );
  const pieces = [head];
  let bytes = head.length;
  const add = (piece: (typeof pieces)[number]) => {
    bytes += piece.length;
    if (bytes > bytesMax)
      throw new SnapshotTooLargeError(
        `snapshot over ${bytesMax} bytes, more than recovery can read: not written (the log ` +
          'keeps every event, and recovery replays it)',
      );
    pieces.push(piece);
  };
  let separator = '';
  for (;;) {
    const block = cursor.next(stepOrders);
    if (block.sequence.length > 0) {
      add(Buffer.from(separator + JSON.stringify(block)));
      separator = ',';
    }
    if (cursor.done) break;
    await between();
  }
  const pending = JSON.stringify(outbox.map((m) => [m.lsn, m.msgId]));
  add(Buffer.from(`]},"outbox":${pending}}`));
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
