// Opening a WAL directory: lock it, recover snapshots and segments, and hand over a log that
// continues where the durable one ended.
import { mkdir } from 'node:fs/promises';
import { checkCoverage } from './coverage.js';
import { listDir } from './file-names.js';
import { openFd } from './fs-async.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { WriteAheadLog } from './log.js';
import { resolveOptions, type WalSettings } from './options.js';
import { type RecoveredSegment, recoverSegments } from './recover.js';
import { replayRecords } from './replay.js';
import { createSegment, type OpenSegment } from './segment-file.js';
import { SEGMENT_HEADER_BYTES } from './segment-format.js';
import { loadNewestSnapshot, removeSnapshotTemps } from './snapshot-store.js';
import type { WalOptions, WalRecord, WalSnapshot } from './types.js';

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
  const tail = last === undefined ? await createSegment(dir, 1) : await reopenTail(last);
  const lastLsn = last === undefined ? 0 : last.firstLsn + last.records - 1;
  const wal = new WriteAheadLog({
    settings,
    lock,
    tail,
    tailEnd: last?.end ?? SEGMENT_HEADER_BYTES,
    tailRecords: last?.records ?? 0,
    segments: segments.length > 0 ? segments.map(toLsnFile) : [toLsnFile(tail)],
    lastLsn,
    snapshotLsn: snapshot?.lsn ?? null,
  });
  logger.info({ dir, snapshotLsn, lastLsn, segments: Math.max(segments.length, 1) }, 'WAL opened');
  return { wal, snapshot, records: replayRecords(segments, snapshotLsn, kept) };
}

async function reopenTail(segment: RecoveredSegment): Promise<OpenSegment> {
  const fd = await openFd(segment.path, 'r+');
  return { fd, path: segment.path, firstLsn: segment.firstLsn };
}

function toLsnFile(segment: { readonly path: string; readonly firstLsn: number }) {
  return { lsn: segment.firstLsn, path: segment.path };
}
