// The records handed to the caller after recovery. A segment recovery kept in memory is replayed
// from those validated bytes, once; any other segment (past the memory budget, or on a second
// iteration) is read again, one at a time, and each frame's CRC checked again on that read.
import { readFileSync } from 'node:fs';
import { WalCorruptError } from './errors.js';
import { RECORD_BYTES_MAX } from './limits.js';
import type { RecoveredSegment } from './recover.js';
import {
  COMMIT_FRAME_BYTES,
  COMMIT_TAG,
  checkCommitFrame,
  checkFrame,
  describeFrameProblem,
  FRAME_HEADER_BYTES,
  FRAME_OK,
  isCommitFrameAt,
  SEGMENT_HEADER_BYTES,
  SEGMENT_VERSION_RECORDS_ONLY,
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
  const commits = segment.version !== SEGMENT_VERSION_RECORDS_ONLY;
  let offset = SEGMENT_HEADER_BYTES;
  let lsn = segment.firstLsn;
  while (offset < segment.end) {
    const length = file.readUInt32LE(offset);
    if (commits && length === COMMIT_TAG) {
      offset += COMMIT_FRAME_BYTES;
      continue;
    }
    const start = offset + FRAME_HEADER_BYTES;
    const end = start + length;
    if (length > RECORD_BYTES_MAX || end > segment.end) {
      throw new Error(`WAL bug: validated frame at ${segment.path}:${offset} no longer parses`);
    }
    if (lsn > afterLsn) yield { lsn, payload: file.subarray(start, end) };
    lsn++;
    offset = end;
  }
  if (lsn - segment.firstLsn !== segment.records) {
    throw new Error(`WAL bug: ${segment.path} replayed ${lsn - segment.firstLsn} records`);
  }
}

/** Read again since recovery: every frame, commit frames included, is checked again. */
function* rereadRecords(segment: RecoveredSegment, afterLsn: number): Generator<WalRecord> {
  const file = readFileSync(segment.path);
  if (file.length < segment.end) {
    throw new WalCorruptError(
      segment.path,
      file.length,
      `shrank below ${segment.end} bytes since recovery`,
    );
  }
  const commits = segment.version !== SEGMENT_VERSION_RECORDS_ONLY;
  let offset = SEGMENT_HEADER_BYTES;
  let lsn = segment.firstLsn;
  let writeStart = offset;
  let writeFirstLsn = lsn;
  while (offset < segment.end) {
    if (commits && isCommitFrameAt(file, offset, segment.end)) {
      const write = {
        firstOffset: writeStart,
        records: lsn - writeFirstLsn,
        firstLsn: writeFirstLsn,
      };
      checkOnReplay(segment, offset, checkCommitFrame(file, offset, segment.end, write));
      offset += COMMIT_FRAME_BYTES;
      writeStart = offset;
      writeFirstLsn = lsn;
      continue;
    }
    checkOnReplay(segment, offset, checkFrame(file, offset, segment.end));
    const start = offset + FRAME_HEADER_BYTES;
    const end = start + file.readUInt32LE(offset);
    if (lsn > afterLsn) yield { lsn, payload: file.subarray(start, end) };
    lsn++;
    offset = end;
  }
  checkRecordCount(segment, lsn, offset);
}

function checkOnReplay(segment: RecoveredSegment, offset: number, problem: number): void {
  if (problem === FRAME_OK) return;
  throw new WalCorruptError(
    segment.path,
    offset,
    `${describeFrameProblem(problem)} on replay (changed since recovery)`,
  );
}

/** The pair of recovery's count: the frames read again hold as many records as recovery found. */
function checkRecordCount(segment: RecoveredSegment, nextLsn: number, offset: number): void {
  const records = nextLsn - segment.firstLsn;
  if (records !== segment.records || offset !== segment.end) {
    throw new WalCorruptError(
      segment.path,
      offset,
      `${records} records on replay where recovery found ${segment.records} (changed since recovery)`,
    );
  }
}
