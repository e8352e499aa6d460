// The shapes the write-ahead log exchanges with its caller. The log knows bytes, never their meaning.

/** pino-compatible: a pino logger (or a child of one) can be passed as is. */
export interface WalLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WalOptions {
  readonly dir: string;
  readonly logger: WalLogger;
  /** Roll to a new segment file past this many bytes (default SEGMENT_BYTES_MAX). */
  readonly segmentBytesMax?: number;
  /** One write + fdatasync carries at most this many bytes (default BATCH_BYTES_MAX). */
  readonly batchBytesMax?: number;
  /** One write + fdatasync carries at most this many records (default BATCH_RECORDS_MAX). */
  readonly batchRecordsMax?: number;
}

/** `payload` may be a view into a larger buffer: copy it if you keep it past the replay. */
export interface WalRecord {
  readonly lsn: number;
  readonly payload: Buffer;
}

/** The caller's state covering every record with an LSN up to and including `lsn`. */
export interface WalSnapshot {
  readonly lsn: number;
  readonly payload: Buffer;
}

/** Counters for tests and benchmarks: they show group commit at work. */
export interface WalStats {
  /** write + fdatasync rounds, each carrying one batch. */
  readonly flushes: number;
  readonly records: number;
  /** Frame bytes written (headers and commit frames included). */
  readonly bytes: number;
  /** New segment files started after open. */
  readonly rolls: number;
}

/**
 * A snapshot's bytes: whole, or in pieces that are stored one after another as if concatenated.
 * Pieces let a large state be handed over without first joining it into one buffer (for 300k
 * orders that join, its encoding and its CRC held the caller's event loop for ~110 ms).
 */
export type SnapshotPayload = Uint8Array | readonly Uint8Array[];
