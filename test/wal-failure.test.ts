import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { appendIo } from '../wal/fs-async.js';
import { WalFailedError } from '../wal/index.js';
import { collect, openLogged, payloadOf } from './fixtures/wal-kit.js';

/** Makes the next `count` fdatasync calls fail with EIO; returns how many calls were made. */
function failSyncs(t: Test, count: number): () => number {
  const real = appendIo.fdatasyncFd;
  let calls = 0;
  let failures = count;
  appendIo.fdatasyncFd = async (fd: number) => {
    calls++;
    if (failures-- > 0)
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    return real(fd);
  };
  t.teardown(() => {
    appendIo.fdatasyncFd = real;
  });
  return () => calls;
}

t.test(
  'a failed fdatasync fails the log: pending and later appends reject, no retry',
  async (t) => {
    const { wal, logger } = await openLogged(t.testdir());
    t.equal(await wal.append([payloadOf(1)]), 1);
    const syncCalls = failSyncs(t, 1);
    const pending = [wal.append([payloadOf(2)]), wal.append([payloadOf(3)])];
    for (const append of pending) await t.rejects(append, WalFailedError);
    t.equal(syncCalls(), 1, 'the failed fsync was not retried');
    t.equal(wal.durableLsn, 1, 'nothing past the failure counts as durable');
    await t.rejects(wal.append([payloadOf(4)]), WalFailedError, 'the log stays failed');
    await t.rejects(wal.writeSnapshot(1, Buffer.from('s')), WalFailedError);
    t.match(
      logger.entries.find((e) => e.level === 'error'),
      { msg: /WAL write failed/ },
    );
    await wal.close();
  },
);

t.test('after a failure, a reopen recovers what was durable', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir);
  await wal.append([payloadOf(1)]);
  failSyncs(t, 1);
  await t.rejects(wal.append([payloadOf(2)]), WalFailedError);
  await wal.close();
  const again = await openLogged(dir);
  const lsns = collect(again.records).map((r) => r.lsn);
  // The write reached the page cache, so record 2 may well survive: never acknowledged, so never
  // promised, and still a whole valid frame.
  t.ok(lsns[0] === 1 && lsns.length <= 2, `records ${lsns.join(',')}`);
  t.equal(await again.wal.append([payloadOf(3)]), lsns.length + 1);
  await again.wal.close();
});

t.test('a failure to start a new segment fails the log too', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir, { segmentBytesMax: 100 });
  await wal.append([payloadOf(1)]);
  // The next segment's name already taken: O_EXCL refuses it, a real I/O error on the roll path.
  await writeFile(join(dir, 'wal-00000000000000000002.log'), 'squatter');
  await t.rejects(wal.append([payloadOf(2, 80)]), {
    name: 'WalFailedError',
    cause: { code: 'EEXIST' },
  });
  await t.rejects(wal.append([payloadOf(3)]), WalFailedError);
  await wal.close();
});
