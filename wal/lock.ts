// One writer per WAL directory. The lock file appears atomically with its content (written to a
// private temp file, then hard-linked into place: link() fails with EEXIST if a lock exists), so a
// reader never sees a half-written lock.
//
// Residual races, accepted because the engine also holds a lease per sale (DESIGN.md I6):
// - Two processes that both find the same stale lock may both unlink it; the second unlink can
//   remove the first one's fresh lock, and both then proceed. It needs two openers within
//   microseconds of each other on a directory whose owner just died.
// - A dead owner's pid may have been reused by an unrelated live process: we then refuse (safe,
//   but the operator has to remove the lock file by hand; the message says so).
import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { WalLockedError } from './errors.js';
import { LOCK_FILE_NAME } from './file-names.js';
import { LOCK_ATTEMPTS_MAX } from './limits.js';
import type { WalLogger } from './types.js';

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

export interface DirLock {
  readonly path: string;
  release(): Promise<void>;
}

export async function acquireDirLock(dir: string, logger: WalLogger): Promise<DirLock> {
  const path = join(dir, LOCK_FILE_NAME);
  const me: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 1; attempt <= LOCK_ATTEMPTS_MAX; attempt++) {
    if (await tryCreateLock(path, me)) return { path, release: () => unlink(path) };
    const owner = await readOwner(path);
    if (owner === null) continue; // released between our link() and our read: try again
    refuseIfLive(dir, path, owner);
    logger.warn(
      { dir, lockFile: path, stalePid: owner.pid, staleSince: owner.startedAt },
      'WAL lock held by a dead process on this host; taking it over',
    );
    await unlink(path).catch(ignoreMissing);
  }
  throw new Error(`could not lock WAL directory ${dir}: ${path} kept changing under us`);
}

async function tryCreateLock(path: string, me: LockOwner): Promise<boolean> {
  const temp = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(me)}\n`, { flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp);
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
  const owner = parseOwner(text);
  if (owner === null) {
    throw new Error(
      `WAL lock file ${path} is unreadable (${JSON.stringify(text.slice(0, 80))}); remove it by hand if no process uses the directory`,
    );
  }
  return owner;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { pid, hostname: host, startedAt } = value as Record<string, unknown>;
    if (
      !Number.isSafeInteger(pid) ||
      (pid as number) <= 0 ||
      typeof host !== 'string' ||
      typeof startedAt !== 'string'
    ) {
      return null;
    }
    return { pid: pid as number, hostname: host, startedAt };
  } catch {
    return null;
  }
}

function refuseIfLive(dir: string, path: string, owner: LockOwner): void {
  if (owner.hostname !== hostname()) {
    throw new WalLockedError(
      owner.pid,
      `WAL directory ${dir} is locked by pid ${owner.pid} on host ${owner.hostname} (since ${owner.startedAt}); its liveness can't be checked from here. If that process is gone, remove ${path} by hand`,
    );
  }
  if (isAlive(owner.pid) && !isEarlierLifeOfThisPid(owner)) {
    throw new WalLockedError(
      owner.pid,
      `WAL directory ${dir} is locked by live pid ${owner.pid} on this host (since ${owner.startedAt}); only one process may write it (if that pid is not a WAL writer, it was reused: remove ${path} by hand)`,
    );
  }
}

/**
 * Our own pid, written before this process started: a previous process that had the same pid.
 * In a container the engine is always pid 1, so after a crash the restarted engine finds "its"
 * pid alive; the lock's start time tells the two lives apart. (A second open within this very
 * process is still refused: its lock is younger than the process.)
 */
function isEarlierLifeOfThisPid(owner: LockOwner): boolean {
  return owner.pid === process.pid && Date.parse(owner.startedAt) < performance.timeOrigin;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(error) !== 'ESRCH';
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function ignoreMissing(error: unknown): void {
  if (errorCode(error) !== 'ENOENT') throw error;
}
