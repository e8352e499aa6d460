// Recovery of the segment files (DESIGN.md I7): every frame is validated; a torn tail is cut off
// with a warning; any other damage stops recovery with a WalCorruptError naming file and offset.
// In a format 2 segment the torn tail is the last write, whole: a power loss may have left any of
// its frames damaged and others valid after them (torn-write.ts tells that from damage).
import { open, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { WalCorruptError } from './errors.js';
import type { LsnFile } from './file-names.js';
import { fsyncDir, readWholeFile } from './fs-async.js';
import { REPLAY_KEPT_BYTES_MAX } from './limits.js';
import {
  decodeSegmentHeader,
  describeFrameProblem,
  FRAME_COMMIT_MISMATCH,
  FRAME_OK,
  isUnwrittenHeader,
  SEGMENT_VERSION_RECORDS_ONLY,
} from './segment-format.js';
import { type FrameScan, findLaterFrame, scanFrames, scanWrites } from './segment-scan.js';
import { findLaterWrite } from './torn-write.js';
import type { WalLogger } from './types.js';

export interface RecoveredSegment {
  readonly path: string;
  readonly firstLsn: number;
  readonly records: number;
  /** Offset just past the last valid frame: where the next frame goes. */
  readonly end: number;
  /** The segment format (segment-format.ts): 1 is read, 2 is written. */
  readonly version: number;
}

export interface Recovery {
  readonly segments: RecoveredSegment[];
  /** Validated bytes of segments holding records after `replayAfterLsn`, within a budget. */
  readonly kept: Map<string, Buffer>;
}

/**
 * Validates every segment, in LSN order, and checks that their LSNs follow on without a gap. Keeps
 * the bytes the replay after `replayAfterLsn` will need, up to REPLAY_KEPT_BYTES_MAX.
 */
export async function recoverSegments(
  files: readonly LsnFile[],
  replayAfterLsn: number,
  dir: string,
  logger: WalLogger,
): Promise<Recovery> {
  const segments: RecoveredSegment[] = [];
  const kept = new Map<string, Buffer>();
  let keptBytes = 0;
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const bytes = await readWholeFile(file.path);
    const isLast = i === files.length - 1;
    if (isLast && isUnwrittenHeader(bytes)) {
      await removeUnwrittenSegment(file.path, bytes.length, dir, logger);
      break;
    }
    const previous = segments.at(-1);
    // Segments before the last were sealed: all their frames were fsynced before the next segment
    // was created. Only the segment written last can end in a torn write.
    const segment = await recoverSegment(file, bytes, isLast, logger);
    if (previous !== undefined) checkFollows(previous, segment);
    segments.push(segment);
    const needed = segment.firstLsn + segment.records - 1 > replayAfterLsn;
    if (needed && keptBytes + bytes.length <= REPLAY_KEPT_BYTES_MAX) {
      kept.set(segment.path, bytes);
      keptBytes += bytes.length;
    }
  }
  return { segments, kept };
}

async function recoverSegment(
  file: LsnFile,
  bytes: Buffer,
  tornTailAllowed: boolean,
  logger: WalLogger,
): Promise<RecoveredSegment> {
  const header = decodeSegmentHeader(bytes);
  if (!header.ok) throw new WalCorruptError(file.path, 0, header.reason);
  if (header.firstLsn !== file.lsn) {
    throw new WalCorruptError(
      file.path,
      0,
      `header says first LSN ${header.firstLsn}, name says ${file.lsn}`,
    );
  }
  const recordsOnly = header.version === SEGMENT_VERSION_RECORDS_ONLY;
  const scan = recordsOnly ? scanFrames(bytes) : scanWrites(bytes, file.lsn);
  const segment = {
    path: file.path,
    firstLsn: file.lsn,
    records: scan.records,
    end: scan.validEnd,
    version: header.version,
  };
  if (scan.problem === FRAME_OK) return segment;
  const problem = describeFrameProblem(scan.problem);
  if (!tornTailAllowed) {
    throw new WalCorruptError(file.path, scan.problemOffset, `${problem} in a sealed segment`);
  }
  if (recordsOnly) checkNothingValidAfter(file.path, bytes, scan);
  else checkIsLastWrite(file, bytes, scan);
  await truncateTornTail(file.path, scan.validEnd);
  logger.warn(
    {
      file: file.path,
      offset: scan.validEnd,
      bytesDropped: bytes.length - scan.validEnd,
      problem,
      problemOffset: scan.problemOffset,
    },
    'WAL torn tail truncated (the last write, interrupted by a crash or a power loss; none of it was acknowledged)',
  );
  return segment;
}

/** Format 1: the torn part can only be the last frames, with no valid frame after them. */
function checkNothingValidAfter(path: string, bytes: Buffer, scan: FrameScan): void {
  const later = findLaterFrame(bytes, scan.validEnd);
  const problem = describeFrameProblem(scan.problem);
  if (later.kind === 'found') {
    throw new WalCorruptError(
      path,
      scan.validEnd,
      `${problem}, yet a valid frame follows at offset ${later.offset}`,
    );
  }
  if (later.kind === 'budget-exceeded') {
    throw new WalCorruptError(
      path,
      scan.validEnd,
      `${problem}; could not prove it is a torn tail (scan budget spent at offset ${later.offset})`,
    );
  }
}

/** Format 2: the torn part is the whole last write, whatever of it reached the disk. */
function checkIsLastWrite(file: LsnFile, bytes: Buffer, scan: FrameScan): void {
  const problem = describeFrameProblem(scan.problem);
  // A commit frame whose CRC holds but whose facts are wrong is nothing a torn write leaves.
  if (scan.problem === FRAME_COMMIT_MISMATCH) {
    throw new WalCorruptError(file.path, scan.problemOffset, problem);
  }
  const later = findLaterWrite(bytes, scan, file.lsn);
  if (later.kind === 'found') {
    throw new WalCorruptError(
      file.path,
      scan.problemOffset,
      `${problem}, yet a later write follows (${later.what} at offset ${later.offset}): damage to a finished write`,
    );
  }
  if (later.kind === 'budget-exceeded') {
    throw new WalCorruptError(
      file.path,
      scan.problemOffset,
      `${problem}; could not prove it is the last write (scan budget spent at offset ${later.offset})`,
    );
  }
}

async function truncateTornTail(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A crash while a segment was created: it holds no record, so removing it loses nothing. */
async function removeUnwrittenSegment(path: string, size: number, dir: string, logger: WalLogger) {
  await unlink(path);
  await fsyncDir(dir);
  logger.warn(
    { file: path, offset: 0, size },
    'WAL removed a segment whose header was never written (a crash while starting it)',
  );
}

function checkFollows(previous: RecoveredSegment, segment: RecoveredSegment): void {
  const expected = previous.firstLsn + previous.records;
  if (segment.firstLsn !== expected) {
    throw new WalCorruptError(
      segment.path,
      0,
      `starts at LSN ${segment.firstLsn} but ${basename(previous.path)} ends at LSN ${expected - 1} (records missing)`,
    );
  }
}
