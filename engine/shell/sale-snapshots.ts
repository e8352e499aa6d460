import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type EngineState,
  fromSnapshotData,
  type SnapshotData,
  toSnapshotData,
} from '../core/index.js';
import { SALE_LOG_STREAM, saleLogSubject } from './sale-log.js';

// Snapshots of a sale's replicated log, so the log can be trimmed (I8 in a cluster). A standby
// writes its replica — exact as of one log sequence — to the JetStream object store (every node
// can read it, with the cluster's replicas), then moves the sale's head in a KV bucket to it by
// compare-and-set, so the head only ever moves forward whoever writes, and only then trims the
// sale's log below that sequence. A follower starts from the head's snapshot and reads the log
// after it; one that finds a record missing (trimmed under it) starts again from the snapshot.

/** A compare-and-set that lost: the head moved since it was read. */
const isWrongLastSequence = (error: unknown): boolean =>
  error instanceof JetStreamApiError && error.code === 10071;

export const SALE_SNAPSHOT_STORE = 'sale_snapshots';
export const SALE_SNAPSHOT_HEAD_BUCKET = 'sale_snapshot_heads';
/** Records a standby reads past the sale's last snapshot before it writes the next. */
export const SALE_SNAPSHOT_EVERY_RECORDS = 1_000;

export interface SnapshotHead {
  /** The last log record the snapshot covers; the log is kept from it on. */
  readonly sequence: number;
  /** The newest fence's epoch as of that record: older events records after it are ignored. */
  readonly epoch: number;
  /** Its object's name in the store (one per snapshot, so a reader never sees half of one). */
  readonly name: string;
}

export interface SaleSnapshot {
  readonly head: SnapshotHead;
  readonly state: EngineState;
}

export class SaleSnapshots {
  private constructor(
    private readonly store: ObjectStore,
    private readonly heads: KV,
    private readonly jsm: JetStreamManager,
  ) {}

  static async open(nc: NatsConnection, jsm: JetStreamManager, replicas: number) {
    const store = await new Objm(nc).create(SALE_SNAPSHOT_STORE, { replicas });
    const heads = await new Kvm(nc).create(SALE_SNAPSHOT_HEAD_BUCKET, { history: 1, replicas });
    return new SaleSnapshots(store, heads, jsm);
  }

  async head(saleId: string): Promise<SnapshotHead | null> {
    const entry = await this.heads.get(saleId);
    return entry?.operation === 'PUT' ? entry.json<SnapshotHead>() : null;
  }

  /** The sale's newest snapshot, or null when it has none. */
  async latest(saleId: string): Promise<SaleSnapshot | null> {
    const head = await this.head(saleId);
    if (head === null) return null;
    const bytes = await this.store.getBlob(head.name);
    if (bytes === null) throw new Error(`snapshot ${head.name} of sale ${saleId} is missing`);
    const data = JSON.parse(Buffer.from(bytes).toString('utf8')) as SnapshotData;
    return { head, state: fromSnapshotData(data) };
  }

  /**
   * Stores a replica's state and trims the sale's log below the record it covers. False when a
   * snapshot as new or newer is there already (another standby wrote one): nothing changes then.
   */
  write(replica: { saleId: string; state: EngineState; lastSequence: number; epoch: number }) {
    // Read at once: the replica moves on as records arrive while this one is written.
    const { saleId, lastSequence: sequence, epoch } = replica;
    return this.storeSnapshot(saleId, toSnapshotData(replica.state), sequence, epoch);
  }

  private async storeSnapshot(
    saleId: string,
    state: SnapshotData,
    sequence: number,
    epoch: number,
  ) {
    const entry = await this.heads.get(saleId);
    const previous = entry?.operation === 'PUT' ? entry.json<SnapshotHead>() : null;
    if (previous !== null && previous.sequence >= sequence) return false;
    const head: SnapshotHead = { sequence, epoch, name: `${saleId}.${sequence}` };
    const data = Buffer.from(JSON.stringify(state), 'utf8');
    await this.store.putBlob({ name: head.name }, data);
    try {
      const value = JSON.stringify(head);
      if (entry === null) await this.heads.create(saleId, value);
      else await this.heads.update(saleId, value, entry.revision);
    } catch (error) {
      // Another standby moved the head first: its snapshot stands, ours goes.
      await this.store.delete(head.name).catch(() => undefined);
      if (isWrongLastSequence(error)) return false;
      throw error;
    }
    // The record at `sequence` stays: an owner's next append expects it as the subject's last.
    await this.jsm.streams.purge(SALE_LOG_STREAM, {
      filter: saleLogSubject(saleId),
      seq: sequence,
    });
    if (previous !== null) await this.store.delete(previous.name).catch(() => undefined);
    return true;
  }
}
