// Walks the frames of one segment held in memory: how many are valid, where the first bad one is,
// and whether any valid frame follows it (the test that separates a torn tail from damage).

import { frameCrc } from './crc.js';
import { RECORD_BYTES_MAX, TORN_TAIL_SCAN_CRC_BYTES_MAX } from './limits.js';
import {
  checkFrame,
  FRAME_HEADER_BYTES,
  FRAME_OK,
  frameBytesAt,
  SEGMENT_HEADER_BYTES,
} from './segment-format.js';

export interface FrameScan {
  readonly records: number;
  /** Offset just past the last valid frame. */
  readonly validEnd: number;
  /** FRAME_OK when every byte up to the end of the file is a valid frame. */
  readonly problem: number;
}

export function scanFrames(file: Buffer): FrameScan {
  let offset = SEGMENT_HEADER_BYTES;
  let records = 0;
  while (offset < file.length) {
    const problem = checkFrame(file, offset, file.length);
    if (problem !== FRAME_OK) return { records, validEnd: offset, problem };
    offset += frameBytesAt(file, offset);
    records++;
  }
  return { records, validEnd: offset, problem: FRAME_OK };
}

export type LaterFrame =
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly offset: number }
  | { readonly kind: 'budget-exceeded'; readonly offset: number };

/**
 * Looks at every byte offset after `badOffset` for a frame with a sane length and a matching CRC.
 * Finding one means the bad frame is followed by data that was once written whole: damage, not a
 * torn tail. The CRC work is bounded; past the budget the answer is "can't tell".
 */
export function findLaterFrame(file: Buffer, badOffset: number): LaterFrame {
  let crcBytes = 0;
  const lastHeader = file.length - FRAME_HEADER_BYTES;
  for (let offset = badOffset + 1; offset <= lastHeader; offset++) {
    const length = file.readUInt32LE(offset);
    if (length > RECORD_BYTES_MAX || length > lastHeader - offset) continue;
    crcBytes += length;
    if (crcBytes > TORN_TAIL_SCAN_CRC_BYTES_MAX) return { kind: 'budget-exceeded', offset };
    const start = offset + FRAME_HEADER_BYTES;
    if (frameCrc(file.subarray(start, start + length)) === file.readUInt32LE(offset + 4)) {
      return { kind: 'found', offset };
    }
  }
  return { kind: 'none' };
}
