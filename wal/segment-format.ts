// On-disk layout of a segment file (little-endian):
//   header: magic (8) | version u32 | flags u32 | first LSN u64 | CRC32 of the 24 bytes before (u32)
//   record frame: payload length u32 | CRC32 of (length field + payload) u32 | payload
// Version 2 (written since 2026-12) closes every write + fdatasync with a commit frame:
//   commit frame: COMMIT_TAG u32 | CRC32 of (tag + body) u32 |
//                 body: offset of the write's first frame u32 | records u32 | first LSN u64
// A write counts only once its commit frame is read back, so recovery can tell the last write,
// never finished (a power loss writes its pages back in any order), from damage to a finished one
// (recover.ts). Version 1 (record frames only) is still read; it is never written.
import { crc32, crc32OfU32LE, frameCrc } from './crc.js';
import { LSN_MAX, RECORD_BYTES_MAX } from './limits.js';

export const SEGMENT_MAGIC = Buffer.from('FSWALSEG', 'latin1');
/** Record frames only, no commit frames: segments written before 2026-12. Read, never written. */
export const SEGMENT_VERSION_RECORDS_ONLY = 1;
/** Every write ends with a commit frame. */
export const SEGMENT_VERSION = 2;
export const SEGMENT_HEADER_BYTES = 28;
export const FRAME_HEADER_BYTES = 8;
/**
 * Where a record frame has its length. No record is this long (over RECORD_BYTES_MAX), so the
 * two kinds of frame can't be confused; the 0xff bytes never occur in UTF-8 text.
 */
export const COMMIT_TAG = 0xff4d43ff;
if (COMMIT_TAG <= RECORD_BYTES_MAX) throw new Error('WAL bug: COMMIT_TAG reads as a record length');
/** The tag as it sits on disk, for searching a damaged segment for commit frames. */
export const COMMIT_TAG_BYTES = Buffer.alloc(4);
COMMIT_TAG_BYTES.writeUInt32LE(COMMIT_TAG);
const COMMIT_BODY_BYTES = 16;
export const COMMIT_FRAME_BYTES = FRAME_HEADER_BYTES + COMMIT_BODY_BYTES;
const COMMIT_CRC_SEED = crc32OfU32LE(COMMIT_TAG);
const U32_SPAN = 2 ** 32;

const VERSION_OFFSET = 8;
const FLAGS_OFFSET = 12;
const FIRST_LSN_OFFSET = 16;
const HEADER_CRC_OFFSET = 24;

export function encodeSegmentHeader(firstLsn: number): Buffer {
  assertLsn(firstLsn);
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SEGMENT_VERSION, VERSION_OFFSET);
  header.writeUInt32LE(0, FLAGS_OFFSET);
  header.writeBigUInt64LE(BigInt(firstLsn), FIRST_LSN_OFFSET);
  header.writeUInt32LE(crc32(header.subarray(0, HEADER_CRC_OFFSET)), HEADER_CRC_OFFSET);
  return header;
}

export type SegmentHeaderResult =
  | { readonly ok: true; readonly firstLsn: number; readonly version: number }
  | { readonly ok: false; readonly reason: string };

/** Checks magic, version and CRC; the caller turns a failure into a WalCorruptError. */
export function decodeSegmentHeader(file: Buffer): SegmentHeaderResult {
  if (file.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'file shorter than header' };
  if (!file.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
    return { ok: false, reason: 'bad magic (not a WAL segment)' };
  }
  const version = file.readUInt32LE(VERSION_OFFSET);
  if (version !== SEGMENT_VERSION && version !== SEGMENT_VERSION_RECORDS_ONLY) {
    return { ok: false, reason: `unknown format version ${version}` };
  }
  const expected = file.readUInt32LE(HEADER_CRC_OFFSET);
  if (crc32(file.subarray(0, HEADER_CRC_OFFSET)) !== expected) {
    return { ok: false, reason: 'header CRC mismatch' };
  }
  const firstLsn = file.readBigUInt64LE(FIRST_LSN_OFFSET);
  if (firstLsn < 1n || firstLsn > BigInt(LSN_MAX)) {
    return { ok: false, reason: `first LSN ${firstLsn} out of range` };
  }
  return { ok: true, firstLsn: Number(firstLsn), version };
}

/** A crash while a segment was being created leaves a short file or a header of zeros. */
export function isUnwrittenHeader(file: Buffer): boolean {
  if (file.length < SEGMENT_HEADER_BYTES) return true;
  for (let i = 0; i < SEGMENT_HEADER_BYTES; i++) if (file[i] !== 0) return false;
  return true;
}

/** Writes one frame at `offset`; returns the offset after it. */
export function encodeFrame(target: Buffer, offset: number, payload: Uint8Array): number {
  target.writeUInt32LE(payload.length, offset);
  target.writeUInt32LE(frameCrc(payload), offset + 4);
  target.set(payload, offset + FRAME_HEADER_BYTES);
  return offset + FRAME_HEADER_BYTES + payload.length;
}

/** What a commit frame says about the write it closes. */
export interface CommitFacts {
  /** Offset of the write's first record frame in its segment. */
  readonly firstOffset: number;
  readonly records: number;
  readonly firstLsn: number;
}

/** Writes the commit frame closing a write at `offset`; returns the offset after it. */
export function encodeCommitFrame(target: Buffer, offset: number, facts: CommitFacts): number {
  const { firstOffset, records, firstLsn } = facts;
  if (!Number.isSafeInteger(firstOffset) || firstOffset < SEGMENT_HEADER_BYTES) {
    throw new RangeError(`invalid write offset ${firstOffset}`);
  }
  if (firstOffset >= U32_SPAN || !Number.isSafeInteger(records) || records < 1) {
    throw new RangeError(`invalid commit: offset ${firstOffset}, ${records} records`);
  }
  assertLsn(firstLsn);
  const body = offset + FRAME_HEADER_BYTES;
  target.writeUInt32LE(COMMIT_TAG, offset);
  target.writeUInt32LE(firstOffset, body);
  target.writeUInt32LE(records, body + 4);
  // Two halves rather than a BigInt: LSNs stay below 2^53.
  target.writeUInt32LE(firstLsn % U32_SPAN, body + 8);
  target.writeUInt32LE(Math.floor(firstLsn / U32_SPAN), body + 12);
  target.writeUInt32LE(commitCrc(target, offset), offset + 4);
  return offset + COMMIT_FRAME_BYTES;
}

/** Reads a commit frame's body; only meaningful once its CRC checked out. */
export function readCommitFrame(file: Buffer, offset: number): CommitFacts {
  const body = offset + FRAME_HEADER_BYTES;
  return {
    firstOffset: file.readUInt32LE(body),
    records: file.readUInt32LE(body + 4),
    firstLsn: file.readUInt32LE(body + 8) + file.readUInt32LE(body + 12) * U32_SPAN,
  };
}

export function isCommitFrameAt(file: Buffer, offset: number, end: number): boolean {
  return end - offset >= 4 && file.readUInt32LE(offset) === COMMIT_TAG;
}

/** A commit frame, whole and with a matching CRC, at `offset` (its tag already seen there). */
export function isWholeCommitFrame(file: Buffer, offset: number, end: number): boolean {
  if (end - offset < COMMIT_FRAME_BYTES) return false;
  return commitCrc(file, offset) === file.readUInt32LE(offset + 4);
}

function commitCrc(file: Buffer, offset: number): number {
  const body = offset + FRAME_HEADER_BYTES;
  return crc32(file.subarray(body, body + COMMIT_BODY_BYTES), COMMIT_CRC_SEED);
}

export const FRAME_OK = 0;
export const FRAME_TRUNCATED_HEADER = 1;
export const FRAME_IMPOSSIBLE_LENGTH = 2;
export const FRAME_TRUNCATED_PAYLOAD = 3;
export const FRAME_CRC_MISMATCH = 4;
export const FRAME_COMMIT_DAMAGED = 5;
export const FRAME_COMMIT_MISMATCH = 6;
export const FRAME_WRITE_UNCOMMITTED = 7;

const FRAME_PROBLEMS = [
  'ok',
  'truncated frame header',
  `impossible payload length (over ${RECORD_BYTES_MAX} bytes)`,
  'truncated payload',
  'frame CRC mismatch',
  'commit frame truncated or CRC mismatch',
  'commit frame does not match the write it closes',
  'write without its commit frame',
] as const;

export function describeFrameProblem(code: number): string {
  return FRAME_PROBLEMS[code] ?? `unknown frame problem ${code}`;
}

/**
 * Checks the frame at `offset` within `file[0, end)`. Returns FRAME_OK or a problem code; a
 * number rather than an object so replay allocates nothing per record.
 */
export function checkFrame(file: Buffer, offset: number, end: number): number {
  if (end - offset < FRAME_HEADER_BYTES) return FRAME_TRUNCATED_HEADER;
  const length = file.readUInt32LE(offset);
  if (length > RECORD_BYTES_MAX) return FRAME_IMPOSSIBLE_LENGTH;
  const payloadStart = offset + FRAME_HEADER_BYTES;
  if (end - payloadStart < length) return FRAME_TRUNCATED_PAYLOAD;
  const payload = file.subarray(payloadStart, payloadStart + length);
  return frameCrc(payload) === file.readUInt32LE(offset + 4) ? FRAME_OK : FRAME_CRC_MISMATCH;
}

/**
 * Checks the commit frame at `offset` (its tag seen there) against what the frames before it
 * say its write was: the pair of the facts encodeCommitFrame wrote.
 */
export function checkCommitFrame(
  file: Buffer,
  offset: number,
  end: number,
  expected: CommitFacts,
): number {
  if (!isWholeCommitFrame(file, offset, end)) return FRAME_COMMIT_DAMAGED;
  const found = readCommitFrame(file, offset);
  const matches =
    expected.records > 0 &&
    found.firstOffset === expected.firstOffset &&
    found.records === expected.records &&
    found.firstLsn === expected.firstLsn;
  return matches ? FRAME_OK : FRAME_COMMIT_MISMATCH;
}

/** Bytes the frame at `offset` occupies; only meaningful once checkFrame returned FRAME_OK. */
export function frameBytesAt(file: Buffer, offset: number): number {
  return FRAME_HEADER_BYTES + file.readUInt32LE(offset);
}

function assertLsn(lsn: number): void {
  if (!Number.isSafeInteger(lsn) || lsn < 1) throw new RangeError(`invalid LSN ${lsn}`);
}
