// The write-ahead log: LSNs assigned at call time, group commit (one write + one fdatasync per
// batch, the batch closed by a commit frame), segment roll, snapshots. An append resolves only once
// its bytes are on stable storage.
import { AppendQueue } from './append-queue.js';
import { WalFailedError } from './errors.js';
import type { LsnFile } from './file-names.js';
import { appendIo, closeFd } from './fs-async.js';
import { LSN_MAX, RECORD_BYTES_MAX, SNAPSHOT_BYTES_MAX } from './limits.js';
import type { DirLock } from './lock.js';
import type { WalSettings } from './options.js';
import { keepSnapshot, pruneSegments, removeOtherSnapshots } from './retention.js';
import { createSegment, type OpenSegment } from './segment-file.js';
import {
  COMMIT_FRAME_BYTES,
  encodeCommitFrame,
  encodeFrame,
  SEGMENT_HEADER_BYTES,
} from './segment-format.js';
import { writeSnapshotFile } from './snapshot-store.js';
import type { SnapshotPayload, WalLogger, WalStats } from './types.js';

/** What openWal hands over after recovery; not part of the public API. */
export interface LogStart {
  readonly settings: WalSettings;
  readonly lock: DirLock;
  readonly tail: OpenSegment;
  /** Offset where the next frame goes in the tail segment. */
  readonly tailEnd: number;
  readonly tailRecords: number;
  /** Every segment on disk, ascending, the tail last. */
  readonly segments: LsnFile[];
  readonly lastLsn: number;
  /** LSN of the snapshot recovery validated, if any. */
  readonly snapshotLsn: number | null;
}

/**
 * Lets the appends queued as microtasks run first, so they join the next batch: appends made later
 * in the same tick, and those of the appenders an ack just woke (their continuations were queued
 * by the ack, before this). A microtask rather than setImmediate: no event-loop turn is added to
 * a lone appender's latency.
 */
const afterQueuedMicrotasks = (): Promise<void> => Promise.resolve();

export class WriteAheadLog {
  readonly dir: string;
  readonly #settings: WalSettings;
  readonly #logger: WalLogger;
  readonly #lock: DirLock;
  readonly #segments: LsnFile[];
  readonly #queue = new AppendQueue();
  readonly #stats = { flushes: 0, records: 0, bytes: 0, rolls: 0 };
  #tail: OpenSegment;
  #tailEnd: number;
  #tailRecords: number;
  #lastLsn: number;
  #durableLsn: number;
  #batch: Buffer | null = null;
  #flushing: Promise<void> | null = null;
  #failure: WalFailedError | null = null;
  #closing: Promise<void> | null = null;
  #snapshots: Promise<void> = Promise.resolve();
  #snapshotLsnFloor: number;
  #trustedSnapshotLsns: number[];

  constructor(start: LogStart) {
    this.dir = start.settings.dir;
    this.#settings = start.settings;
    this.#logger = start.settings.logger;
    this.#lock = start.lock;
    this.#segments = start.segments;
    this.#tail = start.tail;
    this.#tailEnd = start.tailEnd;
    this.#tailRecords = start.tailRecords;
    this.#lastLsn = start.lastLsn;
    this.#durableLsn = start.lastLsn;
    this.#snapshotLsnFloor = start.snapshotLsn ?? 0;
    this.#trustedSnapshotLsns = start.snapshotLsn === null ? [] : [start.snapshotLsn];
  }

  /** LSN of the last appended record, durable or pending; 0 for an empty log. */
  get lastLsn(): number {
    return this.#lastLsn;
  }

  /** LSN of the last record known to be on stable storage. */
  get durableLsn(): number {
    return this.#durableLsn;
  }

  get stats(): WalStats {
    return { ...this.#stats };
  }

  /**
   * Assigns consecutive LSNs now, in call order; resolves with the last one once every record of
   * this call is written and fdatasync() returned. Payloads must not change until then.
   */
  append(payloads: readonly Uint8Array[]): Promise<number> {
    const refusal = this.#refuseAppend(payloads);
    if (refusal !== null) return Promise.reject(refusal);
    const lastLsn = this.#lastLsn + payloads.length;
    this.#lastLsn = lastLsn;
    // A copy: the caller may reuse its array, but the LSNs just handed out must keep their records.
    const copy = payloads.slice();
    return new Promise((resolve, reject) => {
      this.#queue.push({ payloads: copy, lastLsn, resolve, reject });
      this.#flushing ??= this.#flushLoop();
    });
  }

  /**
   * Stores the caller's state covering all records <= lsn, then keeps the newest two snapshots
   * and deletes the segments the older of them covers. Calls run one at a time, in call order.
   */
  writeSnapshot(lsn: number, payload: SnapshotPayload): Promise<void> {
    const pieces =
      payload instanceof Uint8Array ? [payload] : Array.isArray(payload) ? [...payload] : null;
    const refusal = this.#refuseSnapshot(lsn, pieces);
    if (refusal !== null || pieces === null) return Promise.reject(refusal);
    this.#snapshotLsnFloor = lsn;
    const run = this.#snapshots.then(() => this.#snapshotAndPrune(lsn, pieces));
    this.#snapshots = run.catch(() => undefined);
    return run;
  }

  /** Waits for pending flushes and snapshots, closes the tail segment, releases the lock. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  #refuseAppend(payloads: readonly Uint8Array[]): Error | null {
    if (this.#failure !== null) return this.#failure;
    if (this.#closing !== null) return new Error(`WAL ${this.dir} is closed`);
    if (!Array.isArray(payloads) || payloads.length === 0) {
      return new RangeError('WAL append needs at least one payload');
    }
    for (const payload of payloads) {
      if (!(payload instanceof Uint8Array))
        return new TypeError('WAL payloads must be Uint8Arrays');
      if (payload.length > RECORD_BYTES_MAX) {
        return new RangeError(`WAL record of ${payload.length} bytes is over ${RECORD_BYTES_MAX}`);
      }
    }
    if (this.#lastLsn + payloads.length > LSN_MAX) return new RangeError('WAL LSNs exhausted');
    return null;
  }

  #refuseSnapshot(lsn: number, pieces: readonly Uint8Array[] | null): Error | null {
    if (this.#failure !== null) return this.#failure;
    if (this.#closing !== null) return new Error(`WAL ${this.dir} is closed`);
    if (!Number.isSafeInteger(lsn) || lsn < this.#snapshotLsnFloor || lsn > this.#durableLsn) {
      return new RangeError(
        `WAL snapshot LSN ${lsn} must be an integer in [${this.#snapshotLsnFloor}, ${this.#durableLsn}] (newest snapshot, durable LSN)`,
      );
    }
    if (
      pieces === null ||
      !pieces.every((piece) => piece instanceof Uint8Array) ||
      bytesOf(pieces) > SNAPSHOT_BYTES_MAX
    ) {
      return new RangeError(
        `WAL snapshot payload must be Uint8Arrays of at most ${SNAPSHOT_BYTES_MAX} bytes in all`,
      );
    }
    return null;
  }

  async #flushLoop(): Promise<void> {
    try {
      await afterQueuedMicrotasks();
      while (this.#failure === null && this.#queue.nextFrameBytes() > 0) {
        await this.#flushBatch();
        await afterQueuedMicrotasks();
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#flushing = null;
    }
  }

  async #flushBatch(): Promise<void> {
    const writeBytes = this.#queue.nextFrameBytes() + COMMIT_FRAME_BYTES;
    if (this.#tailRecords > 0 && this.#tailEnd + writeBytes > this.#settings.segmentBytesMax) {
      await this.#roll();
    }
    const batch = this.#encodeBatch();
    await appendIo.pwriteAll(this.#tail.fd, this.#batch!, batch.bytes, this.#tailEnd);
    await appendIo.fdatasyncFd(this.#tail.fd);
    this.#tailEnd += batch.bytes;
    this.#tailRecords += batch.records;
    this.#durableLsn += batch.records;
    if (this.#durableLsn > this.#lastLsn) throw new Error('WAL bug: durable LSN passed last LSN');
    this.#stats.flushes++;
    this.#stats.records += batch.records;
    this.#stats.bytes += batch.bytes;
    this.#queue.settleThrough(this.#durableLsn);
  }

  /**
   * Frames as many queued records as the batch and segment limits allow into one buffer, and closes
   * them with the commit frame that makes them count on recovery (they all go in one write).
   */
  #encodeBatch(): { bytes: number; records: number } {
    const { batchBytesMax, batchRecordsMax, segmentBytesMax } = this.#settings;
    this.#batch ??= Buffer.allocUnsafe(batchBytesMax);
    let bytes = 0;
    let records = 0;
    while (records < batchRecordsMax) {
      const frameBytes = this.#queue.nextFrameBytes();
      const writeBytes = bytes + frameBytes + COMMIT_FRAME_BYTES;
      if (frameBytes === 0 || writeBytes > batchBytesMax) break;
      // The first frame of an empty segment always goes in, so an oversize record can't stall.
      const segmentFull = this.#tailEnd + writeBytes > segmentBytesMax;
      if (segmentFull && this.#tailRecords + records > 0) break;
      bytes = encodeFrame(this.#batch, bytes, this.#queue.takePayload());
      records++;
    }
    const firstLsn = this.#durableLsn + 1;
    if (records === 0) throw new Error('WAL bug: a flush found nothing to write');
    if (firstLsn + records - 1 > this.#lastLsn) throw new Error('WAL bug: framed an LSN not given');
    // The pair of scanWrites' check on recovery: the write's offset, record count and first LSN.
    bytes = encodeCommitFrame(this.#batch, bytes, {
      firstOffset: this.#tailEnd,
      records,
      firstLsn,
    });
    return { bytes, records };
  }

  /** Starts the next segment; every record of the current one is already durable. */
  async #roll(): Promise<void> {
    const next = await createSegment(this.dir, this.#durableLsn + 1);
    const previous = this.#tail;
    this.#tail = next;
    this.#tailEnd = SEGMENT_HEADER_BYTES;
    this.#tailRecords = 0;
    this.#segments.push({ lsn: next.firstLsn, path: next.path });
    this.#stats.rolls++;
    await closeFd(previous.fd);
  }

  /** Never retry a failed write or fsync (fsyncgate): the page cache may already have lied. */
  #fail(cause: unknown): void {
    this.#failure = new WalFailedError(
      `WAL write to ${this.#tail.path} failed; every pending and future append is refused. Restart the process to recover from the log`,
      { cause },
    );
    this.#logger.error({ dir: this.dir, file: this.#tail.path, err: cause }, 'WAL write failed');
    this.#queue.rejectAll(this.#failure);
  }

  async #snapshotAndPrune(lsn: number, pieces: readonly Uint8Array[]): Promise<void> {
    await writeSnapshotFile(this.dir, lsn, pieces);
    this.#trustedSnapshotLsns = keepSnapshot(this.#trustedSnapshotLsns, lsn);
    this.#logger.info({ dir: this.dir, lsn, bytes: bytesOf(pieces) }, 'WAL snapshot written');
    await removeOtherSnapshots(this.dir, this.#trustedSnapshotLsns, this.#logger);
    const older = this.#trustedSnapshotLsns[1];
    if (older !== undefined) await pruneSegments(this.#segments, older, this.#logger, this.dir);
  }

  async #shutdown(): Promise<void> {
    await this.#flushing;
    await this.#snapshots;
    await closeFd(this.#tail.fd);
    await this.#lock.release();
  }
}

function bytesOf(pieces: readonly Uint8Array[]): number {
  return pieces.reduce((sum, piece) => sum + piece.length, 0);
}
