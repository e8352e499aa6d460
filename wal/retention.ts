// What a new snapshot lets us delete: snapshots beyond the newest SNAPSHOTS_KEPT_MAX we trust, and
// segments whose records the OLDER kept snapshot covers, so that a corrupt newest snapshot can
// still fall back on the older one plus a replay.
import { unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import type { LsnFile } from './file-names.js';
import { listDir } from './file-names.js';
import { fsyncDir } from './fs-async.js';
import { SNAPSHOTS_KEPT_MAX } from './limits.js';
import type { WalLogger } from './types.js';

/** Newest first. Only snapshots this process wrote or validated count: never a corrupt one. */
export function keepSnapshot(trusted: readonly number[], lsn: number): number[] {
  return [lsn, ...trusted.filter((kept) => kept !== lsn)].slice(0, SNAPSHOTS_KEPT_MAX);
}

export async function removeOtherSnapshots(
  dir: string,
  trusted: readonly number[],
  logger: WalLogger,
): Promise<void> {
  const { snapshots } = await listDir(dir);
  const doomed = snapshots.filter((file) => !trusted.includes(file.lsn));
  for (const file of doomed) await unlink(file.path);
  if (doomed.length > 0) {
    await fsyncDir(dir);
    logger.info({ dir, removed: doomed.map((f) => basename(f.path)) }, 'WAL removed old snapshots');
  }
}

/**
 * Deletes, oldest first, each segment whose records all have LSN <= `coveredLsn`. The segment
 * being written is never deleted. `segments` (ascending) is updated in place before each unlink,
 * and the directory is fsynced after each one, so a crash leaves a gap-free suffix on disk.
 */
export async function pruneSegments(
  segments: LsnFile[],
  coveredLsn: number,
  logger: WalLogger,
  dir: string,
): Promise<void> {
  const removed: string[] = [];
  while (segments.length > 1 && segments[1]!.lsn - 1 <= coveredLsn) {
    const segment = segments.shift()!;
    await unlink(segment.path);
    await fsyncDir(dir);
    removed.push(basename(segment.path));
  }
  if (removed.length > 0) logger.info({ dir, removed, coveredLsn }, 'WAL removed covered segments');
}
