import type { JetStreamClient } from '@nats-io/jetstream';
import { type ActorLog, SalesLostError } from './actor.js';
import { appendRecord, recordsOf } from './sale-log.js';

// The actor's log in a cluster (I8): a batch is durable once the local WAL has fsynced it AND each
// of its sales' records is stored by a quorum of the sale's replicated log; only then does the
// actor answer. One append per sale per batch (the group commit is kept), one at a time per sale
// (each expects the sequence the last one got), and nothing is answered once a sale's lease has
// lapsed locally: a deposed owner that wakes up can't acknowledge what the new owner never read.
// A sale whose record fails is lost to this engine (SalesLostError), not the whole batch: the
// actor answers the other sales, and the engine follows the lost one again.

/** A sale this engine owns: where its log is, and the epoch its records carry. */
class SaleLogWriter {
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly js: JetStreamClient,
    readonly saleId: string,
    readonly epoch: number,
    private lastSequence: number,
    private readonly stillOurs: () => boolean,
  ) {}

  /** The sequence of our last record, once every append begun has settled. */
  async settledSequence(): Promise<number> {
    await this.tail;
    if (this.failure !== null) throw this.failure;
    return this.lastSequence;
  }

  append(events: readonly Uint8Array[]): Promise<void> {
    const appended = this.tail.then(async () => {
      if (this.failure !== null) throw this.failure;
      try {
        for (const record of recordsOf(events)) {
          const target = {
            saleId: this.saleId,
            epoch: this.epoch,
            expectedSequence: this.lastSequence,
            kind: 'events' as const,
          };
          this.lastSequence = await appendRecord(this.js, target, record, this.stillOurs);
        }
      } catch (error) {
        // Nothing later may be appended after a gap: the sale is done here.
        this.failure = error;
        throw error;
      }
    });
    this.tail = appended.catch(() => undefined);
    return appended;
  }
}

export interface ReplicatedLogParts {
  readonly local: ActorLog & { readonly lastLsn: number };
  readonly js: JetStreamClient;
  readonly isLeased: (saleId: string) => boolean;
}

export class ReplicatedLog implements ActorLog {
  private readonly writers = new Map<string, SaleLogWriter>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: ReplicatedLogParts) {}

  get lastLsn(): number {
    return this.parts.local.lastLsn;
  }

  /** The sale is ours from `sequence` on (its fence's), under `epoch`. */
  own(saleId: string, epoch: number, sequence: number): void {
    const stillOurs = () => this.parts.isLeased(saleId);
    this.writers.set(saleId, new SaleLogWriter(this.parts.js, saleId, epoch, sequence, stillOurs));
  }

  disown(saleId: string): void {
    this.writers.delete(saleId);
  }

  /**
   * Whether the sale's log still ends with our last record: a lease that expired (a NATS leader
   * election outlasted it) and that we took again is ours to go on with only if nobody appended
   * meanwhile.
   */
  async stillEndsWithOurs(saleId: string, lastSequence: () => Promise<number>): Promise<boolean> {
    const writer = this.writers.get(saleId);
    if (writer === undefined) return false;
    return (await writer.settledSequence()) === (await lastSequence());
  }

  append(payloads: readonly Uint8Array[], saleIds: readonly string[]): Promise<number> {
    const local = this.parts.local.append(payloads, saleIds);
    const bySale = new Map<string, Uint8Array[]>();
    payloads.forEach((payload, index) => {
      const saleId = saleIds[index] ?? '';
      const list = bySale.get(saleId);
      if (list === undefined) bySale.set(saleId, [payload]);
      else list.push(payload);
    });
    const replicated = Promise.all(
      [...bySale].map(([saleId, events]) => this.replicate(saleId, events)),
    );
    // Answered in log order, and only while every lease of the batch is still ours.
    const durable = Promise.all([this.tail, local, replicated]).then(([, lsn, failures]) => {
      const lost = new Map(failures.filter((failure) => failure !== null));
      for (const saleId of bySale.keys())
        if (!lost.has(saleId) && !this.parts.isLeased(saleId))
          lost.set(saleId, 'its lease lapsed before the answer');
      if (lost.size > 0) throw new SalesLostError(lsn, lost);
      return lsn;
    });
    this.tail = durable.catch(() => undefined);
    return durable;
  }

  /** Resolves with null once stored, or with the sale and why it was not. */
  private async replicate(
    saleId: string,
    events: readonly Uint8Array[],
  ): Promise<readonly [string, string] | null> {
    const writer = this.writers.get(saleId);
    if (writer === undefined) return [saleId, 'it is not owned here'];
    return writer.append(events).then(
      () => null,
      (error: unknown) => [saleId, (error as Error).message] as const,
    );
  }

  writeSnapshot(lsn: number, pieces: readonly Uint8Array[]): Promise<void> {
    return this.parts.local.writeSnapshot(lsn, pieces);
  }
}
