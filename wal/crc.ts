// CRC-32 (IEEE, the one zlib computes) of a frame: its u32 length field followed by its payload,
// so a corrupt length is caught as surely as a corrupt payload.
import { crc32 } from 'node:zlib';

const CRC_TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * CRC-32 of a u32 written little-endian. Computed here rather than by zlib: a native call plus a
 * 4-byte view per record would cost more than the payload's own CRC on replay.
 */
export function crc32OfU32LE(value: number): number {
  let crc = 0xffffffff;
  for (let i = 0; i < 4; i++) {
    const byte = (value >>> (8 * i)) & 0xff;
    crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function frameCrc(payload: Uint8Array): number {
  return crc32(payload, crc32OfU32LE(payload.length));
}

export { crc32 };
