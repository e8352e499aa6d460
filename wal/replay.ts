// The records handed to the caller after recovery. A segment recovery kept in memory is replayed
// from those validated bytes, once; any other segment (past the memory budget, or on a second
// iteration) is read again, one at a time, and each frame's CRC checked again on that read.
import { readFileSync } from 'node:fs';
import { WalCorruptError } from './errors.js';
import { RECORD_BYTES_MAX } from './limits.js';
import type { RecoveredSegment } from './recover.js';
import {
  checkFrame,
  describeFrameProblem,
  FRAME_HEADER_BYTES,
  FRAME_OK,
  SEGMENT_HEADER_BYTES,
} from './segment-format.js';
import type { WalRecord } from './types.js';

/**
 * Every record with an LSN above `afterLsn`, in LSN order. Iterate it before appending or writing
 * snapshots: a snapshot may prune the segments it reads. `kept` is emptied as it is consumed, so
 * memory goes back as the replay moves on.
 */
export function replayRecords(
  segments: readonly RecoveredSegment[],
  afterLsn: number,
  kept: Map<string, Buffer>,
): Iterable<WalRecord> {
  const needed = segments.filter((s) => s.firstLsn + s.records - 1 > afterLsn);
  return {
    *[Symbol.iterator]() {
      for (const segment of needed) {
        const validated = kept.get(segment.path);
        kept.delete(segment.path);
        if (validated !== undefined) yield* keptRecords(segment, validated, afterLsn);
        else yield* rereadRecords(segment, afterLsn);
      }
    },
  };
}

/** Bytes whose every CRC recovery checked: only the frame chain is asserted again. */
function* keptRecords(segment: RecoveredSegment, file: Buffer, afterLsn: number) {
  let offset = SEGMENT_HEADER_BYTES;
  for (let i = 0; i < segment.records; i++) {
    const start = offset + FRAME_HEADER_BYTES;
    const length = file.readUInt32LE(offset);
    const end = start + length;
    if (length > RECORD_BYTES_MAX || end > segment.end) {
      throw new Error(`WAL bug: validated frame at ${segment.path}:${offset} no longer parses`);
    }
    const lsn = segment.firstLsn + i;
    if (lsn > afterLsn) yield { lsn, payload: file.subarray(start, end) };
    offset = end;
  }
}

function* rereadRecords(segment: RecoveredSegment, afterLsn: number): Generator<WalRecord> {
  const file = readFileSync(segment.path);
  if (file.length < segment.end) {
    throw new WalCorruptError(
      segment.path,
      file.length,
      `shrank below ${segment.end} bytes since recovery`,
    );
  }
  let offset = SEGMENT_HEADER_BYTES;
  for (let i = 0; i < segment.records; i++) {
    const problem = checkFrame(file, offset, segment.end);
    if (problem !== FRAME_OK) {
      throw new WalCorruptError(
        segment.path,
        offset,
        `${describeFrameProblem(problem)} on replay (changed since recovery)`,
      );
    }
    const start = offset + FRAME_HEADER_BYTES;
    const end = start + file.readUInt32LE(offset);
    const lsn = segment.firstLsn + i;
    if (lsn > afterLsn) yield { lsn, payload: file.subarray(start, end) };
    offset = end;
  }
}
