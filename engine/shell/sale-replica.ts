import { evolve } from '../core/evolve.js';
import { type EngineState, initialState, type SaleState } from '../core/types.js';
import { decodeEvent } from './event-codec.js';
import { decodeRecord, type SaleLogKind } from './sale-log.js';

// A sale's state as its replicated log says it is: what a warm standby keeps in memory, and what
// a new owner starts from. The fencing rule lives here, so the standby and the new owner read the
// log alike: a fence raises the epoch; an events record of an older epoch than the highest fence
// seen is a deposed writer's, and is never applied. Each record names the record it was appended
// after (its message id): one that names a later record than the last read means records are
// missing (trimmed below a snapshot while this reader lagged), and the replica is unusable.

export interface SaleLogRecord {
  readonly seq: number;
  readonly epoch: number;
  readonly kind: SaleLogKind;
  readonly data: Uint8Array;
  /** The sequence the writer expected before it (from its message id); absent when unknown. */
  readonly expected?: number;
}

/** Records are missing between the last one read and this one: start again from a snapshot. */
export class SaleLogGapError extends Error {
  override readonly name = 'SaleLogGapError';
}

export class SaleReplica {
  /** Records ignored as a deposed writer's. */
  fenced = 0;

  /** From the log's start, or from a snapshot as of `lastSequence` under `epoch`. */
  constructor(
    readonly saleId: string,
    readonly state: EngineState = initialState(),
    /** The sequence of the last record read (applied or ignored). */
    public lastSequence = 0,
    /** The epoch of the newest fence read: the owner whose records count. */
    public epoch = 0,
  ) {}

  apply(record: SaleLogRecord): void {
    if (record.seq <= this.lastSequence) return;
    if (record.expected !== undefined && record.expected > this.lastSequence)
      throw new SaleLogGapError(
        `sale ${this.saleId}: record ${record.seq} follows ${record.expected}, last read ${this.lastSequence}`,
      );
    this.lastSequence = record.seq;
    if (record.kind === 'fence') {
      this.epoch = Math.max(this.epoch, record.epoch);
      return;
    }
    if (record.epoch < this.epoch) {
      this.fenced += 1;
      return;
    }
    for (const bytes of decodeRecord(record.data))
      evolve(this.state, decodeEvent(bytes, record.seq));
  }

  /** The sale as the log has it so far; undefined before its first SaleConfigured. */
  get sale(): SaleState | undefined {
    return this.state.sales.get(this.saleId);
  }
}
