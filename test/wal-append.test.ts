import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import t from 'tap';
import { RECORD_BYTES_MAX } from '../wal/index.js';
import {
  COMMIT_FRAME_BYTES,
  collect,
  FRAME_HEADER_BYTES,
  openLogged,
  payloadOf,
  segmentPaths,
} from './fixtures/wal-kit.js';

t.test('appended records come back in order with their LSNs after reopen', async (t) => {
  const dir = t.testdir();
  const first = await openLogged(dir);
  t.equal(first.snapshot, null);
  t.same(collect(first.records), [], 'a new log is empty');
  t.equal(await first.wal.append([payloadOf(1)]), 1);
  t.equal(await first.wal.append([payloadOf(2), payloadOf(3, 0), payloadOf(4, 300)]), 4);
  t.equal(first.wal.durableLsn, 4);
  await first.wal.close();

  const again = await openLogged(dir);
  const expected = [payloadOf(1), payloadOf(2), payloadOf(3, 0), payloadOf(4, 300)];
  t.same(
    collect(again.records),
    expected.map((payload, i) => ({ lsn: i + 1, payload })),
  );
  t.equal(again.wal.lastLsn, 4, 'LSNs continue where the log ended');
  t.equal(await again.wal.append([payloadOf(5)]), 5);
  await again.wal.close();
});

t.test(
  'records can be iterated again: the second pass reads and checks the files anew',
  async (t) => {
    const dir = t.testdir();
    const first = await openLogged(dir, { segmentBytesMax: 256 });
    for (let id = 1; id <= 20; id++) await first.wal.append([payloadOf(id)]);
    await first.wal.close();
    const again = await openLogged(dir, { segmentBytesMax: 256 });
    const once = collect(again.records);
    t.equal(once.length, 20);
    t.same(collect(again.records), once);
    await again.wal.close();
  },
);

t.test('LSNs are assigned synchronously, in call order', async (t) => {
  const { wal } = await openLogged(t.testdir());
  const a = wal.append([payloadOf(1), payloadOf(2)]);
  t.equal(wal.lastLsn, 2, 'assigned at call time');
  t.equal(wal.durableLsn, 0, 'not durable yet');
  const b = wal.append([payloadOf(3)]);
  t.equal(wal.lastLsn, 3);
  t.same(await Promise.all([a, b]), [2, 3]);
  t.equal(wal.durableLsn, 3);
  await wal.close();
});

t.test('segments roll past segmentBytesMax and LSNs run on across them', async (t) => {
  const dir = t.testdir();
  const segmentBytesMax = 256;
  const first = await openLogged(dir, { segmentBytesMax });
  const acks: number[] = [];
  for (let id = 1; id <= 30; id++) acks.push(await first.wal.append([payloadOf(id)]));
  t.same(
    acks,
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  t.ok(first.wal.stats.rolls >= 5, `rolled ${first.wal.stats.rolls} times`);
  await first.wal.close();

  const paths = await segmentPaths(dir);
  t.equal(paths.length, first.wal.stats.rolls + 1);
  t.equal(basename(paths[0]!), 'wal-00000000000000000001.log');
  const again = await openLogged(dir, { segmentBytesMax });
  const records = collect(again.records);
  t.same(
    records.map((r) => r.lsn),
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  t.ok(
    records.every((r) => r.payload.equals(payloadOf(r.lsn))),
    'every payload intact',
  );
  t.equal(await again.wal.append([payloadOf(31)]), 31, 'reopen continues the LSNs');
  await again.wal.close();
});

t.test('a record bigger than a segment gets a segment of its own', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir, { segmentBytesMax: 100 });
  await wal.append([payloadOf(1, 20)]);
  await wal.append([payloadOf(2, 500), payloadOf(3, 20)]);
  await wal.close();
  t.equal((await segmentPaths(dir)).length, 3);
  const again = await openLogged(dir, { segmentBytesMax: 100 });
  t.same(
    collect(again.records).map((r) => r.payload.length),
    [20, 500, 20],
  );
  await again.wal.close();
});

t.test('an empty or oversize append is refused without side effect', async (t) => {
  const { wal } = await openLogged(t.testdir());
  await t.rejects(wal.append([]), RangeError);
  await t.rejects(wal.append([payloadOf(1), Buffer.alloc(RECORD_BYTES_MAX + 1)]), RangeError);
  await t.rejects(wal.append(['text' as unknown as Uint8Array]), TypeError);
  t.equal(wal.lastLsn, 0, 'no LSN was consumed');
  t.equal(await wal.append([Buffer.alloc(RECORD_BYTES_MAX, 1)]), 1, 'exactly the limit is fine');
  t.equal(wal.stats.records, 1);
  await wal.close();
});

t.test('appends that arrive together share one write + fdatasync', async (t) => {
  const { wal } = await openLogged(t.testdir());
  const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => wal.append([payloadOf(i)])));
  t.same(
    acks,
    Array.from({ length: 200 }, (_, i) => i + 1),
    'each resolves with its own LSN',
  );
  t.equal(wal.stats.flushes, 1, 'one flush carried all 200');
  t.equal(wal.stats.records, 200);
  await wal.close();
});

t.test('appends during a flush join the next one', async (t) => {
  const { wal } = await openLogged(t.testdir());
  const appenders = Array.from({ length: 50 }, async (_, client) => {
    for (let i = 0; i < 20; i++) await wal.append([payloadOf(client * 100 + i)]);
  });
  await Promise.all(appenders);
  t.equal(wal.stats.records, 1000);
  t.ok(wal.stats.flushes <= 100, `1000 appends in ${wal.stats.flushes} flushes`);
  await wal.close();
});

t.test('a batch carries at most batchRecordsMax records and batchBytesMax bytes', async (t) => {
  const { wal } = await openLogged(t.testdir(), { batchRecordsMax: 10 });
  const many = Array.from({ length: 25 }, (_, i) => payloadOf(i));
  t.equal(await wal.append(many), 25, 'a call bigger than a batch resolves once all is durable');
  t.equal(wal.stats.flushes, 3);
  await wal.close();

  const batchBytesMax = RECORD_BYTES_MAX + FRAME_HEADER_BYTES + COMMIT_FRAME_BYTES;
  const big = await openLogged(t.testdir(), { batchBytesMax });
  const records = Array.from({ length: 4 }, (_, i) => payloadOf(i, 400 * 1024));
  await Promise.all(records.map((payload) => big.wal.append([payload])));
  t.equal(big.wal.stats.flushes, 2, 'two 400 KiB records per 1 MiB batch');
  await big.wal.close();
});

t.test('close waits for pending appends; appends after close are refused', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir);
  const pending = wal.append([payloadOf(1)]);
  await wal.close();
  t.equal(await pending, 1);
  await t.rejects(wal.append([payloadOf(2)]), /closed/);
  const again = await openLogged(dir);
  t.equal(collect(again.records).length, 1, 'the lock was released and the record kept');
  await again.wal.close();
});

t.test('a missing directory is created', async (t) => {
  const dir = join(t.testdir(), 'a', 'b');
  const { wal } = await openLogged(dir);
  t.equal(wal.dir, dir);
  await wal.close();
});

t.test('a directory that cannot be created fails at open with a clear error', async (t) => {
  // Tests run as root, so permissions can't stop us: a path under a regular file always fails.
  const file = join(t.testdir(), 'not-a-dir');
  await writeFile(file, 'x');
  const dir = join(file, 'wal');
  await t.rejects(openLogged(dir), {
    message: new RegExp(`WAL directory ${dir} can't be created.*ENOTDIR`),
  });
});

t.test('bad options are refused', async (t) => {
  const dir = t.testdir();
  await t.rejects(openLogged(dir, { batchBytesMax: 1000 }), /batchBytesMax/);
  await t.rejects(openLogged(dir, { batchRecordsMax: 0 }), /batchRecordsMax/);
  await t.rejects(openLogged(dir, { segmentBytesMax: 10 }), /segmentBytesMax/);
});
