// Every bound the write-ahead log enforces, with its unit last in the name (TigerBeetle style).

const MIB = 1024 * 1024;

/** One record's payload. Big enough for any engine batch event, small enough to bound a frame. */
export const RECORD_BYTES_MAX = 1 * MIB;
/** Roll to a new segment file past this, so that pruning after a snapshot frees space in steps. */
export const SEGMENT_BYTES_MAX = 64 * MIB;
/** One write + fdatasync carries at most this many bytes (frame headers, commit frame included). */
export const BATCH_BYTES_MAX = 4 * MIB;
/** One write + fdatasync carries at most this many records. */
export const BATCH_RECORDS_MAX = 8192;
/** A snapshot is read whole into memory at open, so it needs a ceiling (and its length is a u32). */
export const SNAPSHOT_BYTES_MAX = 1024 * MIB;
/**
 * Bytes the torn-tail check may feed through CRC32 while it looks for a valid frame after a bad
 * one. Past this budget recovery can't prove the damage is a torn tail, so it stops rather than
 * guess (a random tail rarely offers a plausible length, so real scans stay far below it).
 */
export const TORN_TAIL_SCAN_CRC_BYTES_MAX = 256 * MIB;
/** Attempts to take over a stale lock before giving up (another process may be racing for it). */
export const LOCK_ATTEMPTS_MAX = 3;
/** LSNs are JavaScript numbers: exact up to 2^53 - 1, written to disk as u64. */
export const LSN_MAX = Number.MAX_SAFE_INTEGER;
/** Digits of a zero-padded LSN in a file name: u64 max has 20, so names sort in LSN order. */
export const LSN_NAME_DIGITS = 20;
/** Snapshots kept after a new one is written: the newest, and one to fall back on if it's corrupt. */
export const SNAPSHOTS_KEPT_MAX = 2;
/** Largest segmentBytesMax accepted: recovery reads a whole segment into one buffer. */
export const SEGMENT_OPTION_BYTES_MAX = 1024 * MIB;
/** Largest batchBytesMax accepted: the batch buffer is allocated once at this size. */
export const BATCH_OPTION_BYTES_MAX = 256 * MIB;
/** Largest batchRecordsMax accepted. */
export const BATCH_OPTION_RECORDS_MAX = 1_000_000;
/**
 * Segment bytes that recovery, having read and validated them, keeps for the replay that follows,
 * so the common case reads and checks each byte once. Segments past this budget are read (and
 * checked) again during the replay, one at a time, which bounds memory for a long log.
 */
export const REPLAY_KEPT_BYTES_MAX = 256 * MIB;
