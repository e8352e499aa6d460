// On-disk layout of a segment file (little-endian):
//   header: magic (8) | version u32 | flags u32 | first LSN u64 | CRC32 of the 24 bytes before (u32)
//   frames: payload length u32 | CRC32 of (length field + payload) u32 | payload
import { crc32, frameCrc } from './crc.js';
import { LSN_MAX, RECORD_BYTES_MAX } from './limits.js';

export const SEGMENT_MAGIC = Buffer.from('FSWALSEG', 'latin1');
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 28;
export const FRAME_HEADER_BYTES = 8;

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
  | { readonly ok: true; readonly firstLsn: number }
  | { readonly ok: false; readonly reason: string };

/** Checks magic, version and CRC; the caller turns a failure into a WalCorruptError. */
export function decodeSegmentHeader(file: Buffer): SegmentHeaderResult {
  if (file.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'file shorter than header' };
  if (!file.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
    return { ok: false, reason: 'bad magic (not a WAL segment)' };
  }
  const version = file.readUInt32LE(VERSION_OFFSET);
  if (version !== SEGMENT_VERSION)
    return { ok: false, reason: `unknown format version ${version}` };
  const expected = file.readUInt32LE(HEADER_CRC_OFFSET);
  if (crc32(file.subarray(0, HEADER_CRC_OFFSET)) !== expected) {
    return { ok: false, reason: 'header CRC mismatch' };
  }
  const firstLsn = file.readBigUInt64LE(FIRST_LSN_OFFSET);
  if (firstLsn < 1n || firstLsn > BigInt(LSN_MAX)) {
    return { ok: false, reason: `first LSN ${firstLsn} out of range` };
  }
  return { ok: true, firstLsn: Number(firstLsn) };
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

export const FRAME_OK = 0;
export const FRAME_TRUNCATED_HEADER = 1;
export const FRAME_IMPOSSIBLE_LENGTH = 2;
export const FRAME_TRUNCATED_PAYLOAD = 3;
export const FRAME_CRC_MISMATCH = 4;

const FRAME_PROBLEMS = [
  'ok',
  'truncated frame header',
  `impossible payload length (over ${RECORD_BYTES_MAX} bytes)`,
  'truncated payload',
  'frame CRC mismatch',
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

/** Bytes the frame at `offset` occupies; only meaningful once checkFrame returned FRAME_OK. */
export function frameBytesAt(file: Buffer, offset: number): number {
  return FRAME_HEADER_BYTES + file.readUInt32LE(offset);
}

function assertLsn(lsn: number): void {
  if (!Number.isSafeInteger(lsn) || lsn < 1) throw new RangeError(`invalid LSN ${lsn}`);
}
