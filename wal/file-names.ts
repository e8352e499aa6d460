// File names in a WAL directory. LSNs are zero-padded so that a plain sort is LSN order.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LSN_NAME_DIGITS } from './limits.js';

export const LOCK_FILE_NAME = 'wal.lock';
const SEGMENT_PATTERN = /^wal-(\d{20})\.log$/;
const SNAPSHOT_PATTERN = /^snap-(\d{20})\.snap$/;
/** A snapshot being written; never read, removed at open (a crash mid-write leaves one). */
const SNAPSHOT_TEMP_PATTERN = /^snap-\d{20}\.snap\.tmp$/;

export interface LsnFile {
  readonly lsn: number;
  readonly path: string;
}

export interface DirListing {
  /** Ascending by first LSN. */
  readonly segments: readonly LsnFile[];
  /** Ascending by LSN. */
  readonly snapshots: readonly LsnFile[];
  readonly snapshotTemps: readonly string[];
}

export function segmentFileName(firstLsn: number): string {
  return `wal-${padLsn(firstLsn)}.log`;
}

export function snapshotFileName(lsn: number): string {
  return `snap-${padLsn(lsn)}.snap`;
}

export function snapshotTempFileName(lsn: number): string {
  return `${snapshotFileName(lsn)}.tmp`;
}

export async function listDir(dir: string): Promise<DirListing> {
  const names = (await readdir(dir)).sort();
  return {
    segments: matchLsnFiles(dir, names, SEGMENT_PATTERN),
    snapshots: matchLsnFiles(dir, names, SNAPSHOT_PATTERN),
    snapshotTemps: names
      .filter((name) => SNAPSHOT_TEMP_PATTERN.test(name))
      .map((n) => join(dir, n)),
  };
}

function matchLsnFiles(dir: string, sortedNames: readonly string[], pattern: RegExp): LsnFile[] {
  const files: LsnFile[] = [];
  for (const name of sortedNames) {
    const digits = pattern.exec(name)?.[1];
    if (digits === undefined) continue;
    const lsn = Number(digits);
    // A name past 2^53 can't be one we wrote; treat it as foreign rather than round it.
    if (!Number.isSafeInteger(lsn)) continue;
    files.push({ lsn, path: join(dir, name) });
  }
  return files;
}

function padLsn(lsn: number): string {
  if (!Number.isSafeInteger(lsn) || lsn < 0) throw new RangeError(`invalid LSN ${lsn}`);
  return String(lsn).padStart(LSN_NAME_DIGITS, '0');
}
