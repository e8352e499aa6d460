// In a format 2 segment, what separates the last write, never finished, from damage to a finished
// one. A power loss during a write + fdatasync can leave any of that write's pages on disk and not
// the others: a damaged frame with valid ones after it, none of them acknowledged (acks wait for
// the fdatasync). Damage to a finished write can look the same, but is followed by a later write.
import { TORN_TAIL_SCAN_CRC_BYTES_MAX } from './limits.js';
import {
  COMMIT_FRAME_BYTES,
  COMMIT_TAG_BYTES,
  isWholeCommitFrame,
  readCommitFrame,
} from './segment-format.js';
import { type FrameScan, findLaterFrame } from './segment-scan.js';

export type LaterWrite =
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly offset: number; readonly what: string }
  | { readonly kind: 'budget-exceeded'; readonly offset: number };

/**
 * Writes go one at a time: the next starts only once the fdatasync of the one before returned. So
 * any trace of a write after the damaged one proves the damaged one finished, and may have been
 * acknowledged: a valid commit frame other than the damaged write's own, or a valid frame after
 * that own commit frame. Without such a trace the damaged write is the last one. The search for
 * commit frames is a byte search for their tag, each hit's CRC checked; it shares its CRC budget
 * with the search for record frames.
 */
export function findLaterWrite(file: Buffer, scan: FrameScan, segmentFirstLsn: number): LaterWrite {
  const writeStart = scan.validEnd;
  const writeFirstLsn = segmentFirstLsn + scan.records;
  let crcBytes = 0;
  let ownCommitEnd = -1;
  let at = file.indexOf(COMMIT_TAG_BYTES, scan.problemOffset);
  for (; at !== -1; at = file.indexOf(COMMIT_TAG_BYTES, at + 1)) {
    crcBytes += COMMIT_FRAME_BYTES;
    if (crcBytes > TORN_TAIL_SCAN_CRC_BYTES_MAX) return { kind: 'budget-exceeded', offset: at };
    if (!isWholeCommitFrame(file, at, file.length)) continue;
    const commit = readCommitFrame(file, at);
    const own =
      ownCommitEnd === -1 && commit.firstOffset === writeStart && commit.firstLsn === writeFirstLsn;
    if (!own) return { kind: 'found', offset: at, what: 'the commit frame of another write' };
    ownCommitEnd = at + COMMIT_FRAME_BYTES;
  }
  if (ownCommitEnd === -1) return { kind: 'none' };
  const later = findLaterFrame(file, ownCommitEnd - 1, crcBytes);
  if (later.kind !== 'found') return later;
  return { kind: 'found', offset: later.offset, what: "a record frame after the write's commit" };
}
