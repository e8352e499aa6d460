// On-disk layout of a snapshot file (little-endian):
//   magic (8) | version u32 | flags u32 | LSN u64 | payload length u32 | payload CRC32 u32 |
//   CRC32 of the 32 header bytes before it (u32) | payload
import { crc32 } from './crc.js';
import { LSN_MAX, SNAPSHOT_BYTES_MAX } from './limits.js';

export const SNAPSHOT_MAGIC = Buffer.from('FSWALSNP', 'latin1');
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 36;

const VERSION_OFFSET = 8;
const FLAGS_OFFSET = 12;
const LSN_OFFSET = 16;
const LENGTH_OFFSET = 24;
const PAYLOAD_CRC_OFFSET = 28;
const HEADER_CRC_OFFSET = 32;

/** The header of a snapshot whose payload has `length` bytes and CRC-32 `payloadCrc`. */
export function encodeSnapshotHeader(lsn: number, length: number, payloadCrc: number): Buffer {
  if (!Number.isSafeInteger(lsn) || lsn < 0) throw new RangeError(`invalid snapshot LSN ${lsn}`);
  if (length > SNAPSHOT_BYTES_MAX) {
    throw new RangeError(`snapshot of ${length} bytes is over ${SNAPSHOT_BYTES_MAX}`);
  }
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  SNAPSHOT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SNAPSHOT_VERSION, VERSION_OFFSET);
  header.writeUInt32LE(0, FLAGS_OFFSET);
  header.writeBigUInt64LE(BigInt(lsn), LSN_OFFSET);
  header.writeUInt32LE(length, LENGTH_OFFSET);
  header.writeUInt32LE(payloadCrc, PAYLOAD_CRC_OFFSET);
  header.writeUInt32LE(crc32(header.subarray(0, HEADER_CRC_OFFSET)), HEADER_CRC_OFFSET);
  return header;
}

export type SnapshotDecodeResult =
  | { readonly ok: true; readonly lsn: number; readonly payload: Buffer }
  | { readonly ok: false; readonly offset: number; readonly reason: string };

/** Validates a whole snapshot file read into memory; the payload is a view into `file`. */
export function decodeSnapshot(file: Buffer): SnapshotDecodeResult {
  if (file.length < SNAPSHOT_HEADER_BYTES) return bad(0, 'file shorter than header');
  if (!file.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    return bad(0, 'bad magic (not a WAL snapshot)');
  }
  const version = file.readUInt32LE(VERSION_OFFSET);
  if (version !== SNAPSHOT_VERSION) return bad(0, `unknown format version ${version}`);
  if (crc32(file.subarray(0, HEADER_CRC_OFFSET)) !== file.readUInt32LE(HEADER_CRC_OFFSET)) {
    return bad(0, 'header CRC mismatch');
  }
  const lsn = file.readBigUInt64LE(LSN_OFFSET);
  if (lsn > BigInt(LSN_MAX)) return bad(LSN_OFFSET, `LSN ${lsn} out of range`);
  const length = file.readUInt32LE(LENGTH_OFFSET);
  if (file.length !== SNAPSHOT_HEADER_BYTES + length) {
    return bad(
      SNAPSHOT_HEADER_BYTES,
      `payload is ${file.length - SNAPSHOT_HEADER_BYTES} bytes, header says ${length}`,
    );
  }
  const payload = file.subarray(SNAPSHOT_HEADER_BYTES);
  if (crc32(payload) !== file.readUInt32LE(PAYLOAD_CRC_OFFSET)) {
    return bad(SNAPSHOT_HEADER_BYTES, 'payload CRC mismatch');
  }
  return { ok: true, lsn: Number(lsn), payload };
}

function bad(offset: number, reason: string): SnapshotDecodeResult {
  return { ok: false, offset, reason };
}
