// Opening a WAL directory: lock it, recover snapshots and segments, and hand over a log that
// continues where the durable one ended.
import { mkdir } from 'node:fs/promises';
import { checkCoverage } from './coverage.js';
import { listDir } from './file-names.js';
import { closeFd, fdatasyncFd, openFd, pwriteAll } from './fs-async.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { WriteAheadLog } from './log.js';
import { resolveOptions, type WalSettings } from './options.js';
import { type RecoveredSegment, recoverSegments } from './recover.js';
import { replayRecords } from './replay.js';
import { createSegment, type OpenSegment } from './segment-file.js';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, SEGMENT_VERSION } from './segment-format.js';
import { loadNewestSnapshot, removeSnapshotTemps } from './snapshot-store.js';
import type { WalLogger, WalOptions, WalRecord, WalSnapshot } from './types.js';

export interface OpenedWal {
  readonly wal: WriteAheadLog;
  /** The newest valid snapshot, or null. */
  readonly snapshot: WalSnapshot | null;
  /** Every record after the snapshot (or all), in LSN order, already validated. */
  readonly records: Iterable<WalRecord>;
}

export async function openWal(options: WalOptions): Promise<OpenedWal> {
  const settings = resolveOptions(options);
  const lock = await lockDirectory(settings);
  try {
    return await recover(settings, lock);
  } catch (error) {
    await lock.release().catch(() => undefined);
    throw error;
  }
}

async function lockDirectory(settings: WalSettings): Promise<DirLock> {
  const { dir, logger } = settings;
  try {
    await mkdir(dir, { recursive: true });
    return await acquireDirLock(dir, logger);
  } catch (error) {
    // Errors from the OS (EACCES, ENOTDIR, EROFS, ...) get the directory named; ours say enough.
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (typeof code !== 'string') throw error;
    throw new Error(`WAL directory ${dir} can't be created or written (${code})`, { cause: error });
  }
}

async function recover(settings: WalSettings, lock: DirLock): Promise<OpenedWal> {
  const { dir, logger } = settings;
  const listing = await listDir(dir);
  await removeSnapshotTemps(listing.snapshotTemps, logger);
  const snapshot = await loadNewestSnapshot(listing.snapshots, logger);
  const snapshotLsn = snapshot?.lsn ?? 0;
  const { segments, kept } = await recoverSegments(listing.segments, snapshotLsn, dir, logger);
  checkCoverage(segments, snapshotLsn, dir);
  const last = segments.at(-1);
  const lastLsn = last === undefined ? 0 : last.firstLsn + last.records - 1;
  const { tail, tailEnd, tailRecords } = await openTail(dir, last, logger);
  const files = segments.map(toLsnFile);
  if (files.at(-1)?.lsn !== tail.firstLsn) files.push(toLsnFile(tail));
  const wal = new WriteAheadLog({
    settings,
    lock,
    tail,
    tailEnd,
    tailRecords,
    segments: files,
    lastLsn,
    snapshotLsn: snapshot?.lsn ?? null,
  });
  logger.info({ dir, snapshotLsn, lastLsn, segments: Math.max(segments.length, 1) }, 'WAL opened');
  return { wal, snapshot, records: replayRecords(segments, snapshotLsn, kept) };
}

interface Tail {
  readonly tail: OpenSegment;
  readonly tailEnd: number;
  readonly tailRecords: number;
}

/**
 * The segment appends go to. Only format 2 is written: a format 1 tail holding records is left as
 * it is, sealed, and writes go on in a new segment; an empty one gets a format 2 header in place.
 */
async function openTail(
  dir: string,
  last: RecoveredSegment | undefined,
  logger: WalLogger,
): Promise<Tail> {
  const empty = { tailEnd: SEGMENT_HEADER_BYTES, tailRecords: 0 };
  if (last === undefined) return { tail: await createSegment(dir, 1), ...empty };
  if (last.version === SEGMENT_VERSION) {
    return { tail: await reopenTail(last), tailEnd: last.end, tailRecords: last.records };
  }
  if (last.records > 0) {
    const tail = await createSegment(dir, last.firstLsn + last.records);
    logger.info(
      { dir, sealed: last.path, file: tail.path },
      'WAL format 1 segment sealed; writes go on in a format 2 segment',
    );
    return { tail, ...empty };
  }
  const tail = await reopenTail(last);
  try {
    // 28 bytes in the file's first sector, written whole or not at all (the assumption PostgreSQL
    // makes for pg_control); either header is valid and the file holds nothing else.
    const header = encodeSegmentHeader(last.firstLsn);
    await pwriteAll(tail.fd, header, header.length, 0);
    await fdatasyncFd(tail.fd);
  } catch (error) {
    await closeFd(tail.fd).catch(() => undefined);
    throw error;
  }
  logger.info({ dir, file: tail.path }, 'WAL empty format 1 segment given a format 2 header');
  return { tail, ...empty };
}

async function reopenTail(segment: RecoveredSegment): Promise<OpenSegment> {
  const fd = await openFd(segment.path, 'r+');
  return { fd, path: segment.path, firstLsn: segment.firstLsn };
}

function toLsnFile(segment: { readonly path: string; readonly firstLsn: number }) {
  return { lsn: segment.firstLsn, path: segment.path };
}
