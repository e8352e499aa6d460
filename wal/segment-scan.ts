// Walks the frames of one segment held in memory: how many records are valid, where the first bad
// frame is, and whether a valid frame follows it (the test that separates a torn tail from damage).

import { frameCrc } from './crc.js';
import { RECORD_BYTES_MAX, TORN_TAIL_SCAN_CRC_BYTES_MAX } from './limits.js';
import {
  COMMIT_FRAME_BYTES,
  checkCommitFrame,
  checkFrame,
  FRAME_HEADER_BYTES,
  FRAME_OK,
  FRAME_WRITE_UNCOMMITTED,
  frameBytesAt,
  isCommitFrameAt,
  SEGMENT_HEADER_BYTES,
} from './segment-format.js';

export interface FrameScan {
  /** Records that count: in a format 2 segment, those of writes closed by their commit frame. */
  readonly records: number;
  /** Offset just past the last record that counts: where the next write goes. */
  readonly validEnd: number;
  /** FRAME_OK when every byte up to the end of the file is a valid frame that counts. */
  readonly problem: number;
  /** Where the problem is: the first bad frame, or the end of a write left without its commit. */
  readonly problemOffset: number;
}

/** Format 1: every valid frame is a record. */
export function scanFrames(file: Buffer): FrameScan {
  let offset = SEGMENT_HEADER_BYTES;
  let records = 0;
  while (offset < file.length) {
    const problem = checkFrame(file, offset, file.length);
    if (problem !== FRAME_OK) return { records, validEnd: offset, problem, problemOffset: offset };
    offset += frameBytesAt(file, offset);
    records++;
  }
  return { records, validEnd: offset, problem: FRAME_OK, problemOffset: offset };
}

/** Format 2: records count once the commit frame closing their write checks out. */
export function scanWrites(file: Buffer, firstLsn: number): FrameScan {
  let offset = SEGMENT_HEADER_BYTES;
  let records = 0;
  let writeStart = offset;
  let writeRecords = 0;
  while (offset < file.length) {
    let problem: number;
    if (isCommitFrameAt(file, offset, file.length)) {
      const expected = {
        firstOffset: writeStart,
        records: writeRecords,
        firstLsn: firstLsn + records,
      };
      problem = checkCommitFrame(file, offset, file.length, expected);
      if (problem === FRAME_OK) {
        offset += COMMIT_FRAME_BYTES;
        records += writeRecords;
        writeStart = offset;
        writeRecords = 0;
        continue;
      }
    } else {
      problem = checkFrame(file, offset, file.length);
      if (problem === FRAME_OK) {
        offset += frameBytesAt(file, offset);
        writeRecords++;
        continue;
      }
    }
    return { records, validEnd: writeStart, problem, problemOffset: offset };
  }
  const problem = writeRecords === 0 ? FRAME_OK : FRAME_WRITE_UNCOMMITTED;
  return { records, validEnd: writeStart, problem, problemOffset: offset };
}

export type LaterFrame =
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly offset: number }
  | { readonly kind: 'budget-exceeded'; readonly offset: number };

/**
 * Looks at every byte offset after `badOffset` for a record frame with a sane length and a matching
 * CRC. Finding one means the bad frame is followed by data that was once written whole: damage, not
 * a torn tail. The CRC work (`crcBytesSpent` of it done already) is bounded; past the budget the
 * answer is "can't tell".
 */
export function findLaterFrame(file: Buffer, badOffset: number, crcBytesSpent = 0): LaterFrame {
  let crcBytes = crcBytesSpent;
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
