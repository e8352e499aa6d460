import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { WalLockedError } from '../wal/index.js';
import { openLogged, spawnFixture, watchChild } from './fixtures/wal-kit.js';

/** A pid that surely belonged to a process that is gone: a child that exited and was reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('close', resolve));
  return child.pid!;
}

const lockFile = (dir: string) => join(dir, 'wal.lock');

t.test('a second process gets WalLockedError; once it dies, its lock is taken over', async (t) => {
  const dir = t.testdir();
  const child = spawnFixture('wal-holder.ts', [dir]);
  const watch = watchChild(child);
  await watch.lineMatching(/^locked/);

  const error = await openLogged(dir).catch((e: unknown) => e);
  t.ok(error instanceof WalLockedError, 'WalLockedError');
  t.equal((error as WalLockedError).pid, child.pid);
  t.match((error as Error).message, `pid ${child.pid}`);
  t.match((error as Error).message, dir);

  child.kill('SIGKILL');
  await watch.exited;
  const { wal, logger } = await openLogged(dir);
  t.match(logger.warnings(), [{ obj: { stalePid: child.pid }, msg: /taking it over/ }]);
  t.match(JSON.parse(await readFile(lockFile(dir), 'utf8')), {
    pid: process.pid,
    hostname: hostname(),
  });
  await wal.close();
});

t.test('a stale lock from a dead pid on this host is taken over with a warning', async (t) => {
  const dir = t.testdir();
  const pid = await deadPid();
  await writeFile(lockFile(dir), JSON.stringify({ pid, hostname: hostname(), startedAt: 'then' }));
  const { wal, logger } = await openLogged(dir);
  t.match(logger.warnings(), [{ obj: { stalePid: pid, lockFile: lockFile(dir) } }]);
  await wal.close();
});

t.test('a lock from another host is refused: its liveness cannot be checked', async (t) => {
  const dir = t.testdir();
  const owner = { pid: 4242, hostname: `not-${hostname()}`, startedAt: 'then' };
  await writeFile(lockFile(dir), JSON.stringify(owner));
  await t.rejects(openLogged(dir), {
    name: 'WalLockedError',
    pid: 4242,
    message: new RegExp(`pid 4242 on host not-${hostname()}.*remove .*wal\\.lock by hand`),
  });
});

t.test('the same process cannot open a directory twice; close releases it', async (t) => {
  const dir = t.testdir();
  const first = await openLogged(dir);
  await t.rejects(openLogged(dir), { name: 'WalLockedError', pid: process.pid });
  await first.wal.close();
  const second = await openLogged(dir);
  t.equal(second.wal.lastLsn, 0);
  await second.wal.close();
});

t.test('a lock left by an earlier process with our pid (a container) is taken over', async (t) => {
  // In a container the engine is always pid 1: after a crash, the restarted engine meets a lock
  // naming its own, live, pid. Its start time, before this process began, gives it away.
  const dir = t.testdir();
  const before = new Date(performance.timeOrigin - 60_000).toISOString();
  await writeFile(
    lockFile(dir),
    JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: before }),
  );
  const opened = await openLogged(dir);
  t.equal(opened.wal.lastLsn, 0, 'opened');
  const lock = JSON.parse(await readFile(lockFile(dir), 'utf8')) as { startedAt: string };
  t.ok(Date.parse(lock.startedAt) >= performance.timeOrigin, 'and the lock is now ours');
  await opened.wal.close();
});

t.test('an unreadable lock file stops open with a clear message', async (t) => {
  const dir = t.testdir();
  await writeFile(lockFile(dir), '{"pid":');
  await t.rejects(openLogged(dir), {
    message: /lock file .*wal\.lock is unreadable.*remove it by hand/,
  });
});
