// The write-ahead log's public API: a generic, crash-safe log of bytes with snapshots.
export { WalCorruptError, WalFailedError, WalLockedError } from './errors.js';
export {
  BATCH_BYTES_MAX,
  BATCH_RECORDS_MAX,
  RECORD_BYTES_MAX,
  SEGMENT_BYTES_MAX,
  SNAPSHOT_BYTES_MAX,
} from './limits.js';
export { WriteAheadLog } from './log.js';
export { type OpenedWal, openWal } from './open.js';
export type {
  SnapshotPayload,
  WalLogger,
  WalOptions,
  WalRecord,
  WalSnapshot,
  WalStats,
} from './types.js';
