import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { type OpenedWal, WalCorruptError, type WriteAheadLog } from '../wal/index.js';
import {
  COMMIT_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  openLogged,
  payloadOf,
  SEGMENT_HEADER_BYTES,
  segmentPaths,
  snapshotNames,
} from './fixtures/wal-kit.js';

/** A segment holding four one-record writes of 40-byte payloads. */
const FOUR_WRITES_BYTES = SEGMENT_HEADER_BYTES + 4 * (FRAME_HEADER_BYTES + 40 + COMMIT_FRAME_BYTES);

// The caller's "state" in these tests: the ids of the records applied so far, in order.
const idOf = (payload: Buffer): number => payload.readUInt32LE(0);
const encodeState = (ids: readonly number[]): Buffer => Buffer.from(JSON.stringify(ids));

function recoverState(opened: OpenedWal): number[] {
  const ids: number[] = opened.snapshot ? JSON.parse(opened.snapshot.payload.toString()) : [];
  for (const record of opened.records) ids.push(idOf(record.payload));
  return ids;
}

async function appendIds(wal: WriteAheadLog, from: number, to: number): Promise<void> {
  for (let id = from; id <= to; id++) await wal.append([payloadOf(id)]);
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

t.test('snapshot + replay gives the same state as a full replay', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir);
  await appendIds(wal, 1, 60);
  await wal.writeSnapshot(60, encodeState(range(1, 60)));
  await appendIds(wal, 61, 100);
  await wal.close();

  const opened = await openLogged(dir);
  t.equal(opened.snapshot?.lsn, 60);
  const lsns = [...opened.records].map((r) => r.lsn);
  t.same(lsns, range(61, 100), 'only records after the snapshot are replayed');
  t.same(recoverState(opened), range(1, 100));
  t.equal(await opened.wal.append([payloadOf(101)]), 101);
  await opened.wal.close();
});

t.test('a snapshot given in pieces is stored as their concatenation', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir);
  await appendIds(wal, 1, 30);
  const whole = encodeState(range(1, 30));
  // Uneven cuts, an empty piece among them: the file must not show where they were.
  const cuts = [0, 1, 1, 7, 40, whole.length];
  const pieces = cuts.slice(1).map((end, i) => whole.subarray(cuts[i], end));
  await wal.writeSnapshot(30, pieces);
  await wal.close();

  const opened = await openLogged(dir);
  t.same(opened.snapshot?.payload, whole, 'the payload reads back whole, its CRC valid');
  t.same(recoverState(opened), range(1, 30));
  await opened.wal.close();
});

t.test('segments go only once the OLDER kept snapshot covers them', async (t) => {
  const dir = t.testdir();
  // 28-byte header + four writes of a 48-byte frame and its commit frame per segment: segment k
  // holds LSNs 4k-3 .. 4k.
  const { wal, logger } = await openLogged(dir, { segmentBytesMax: FOUR_WRITES_BYTES });
  await appendIds(wal, 1, 40);
  t.equal((await segmentPaths(dir)).length, 10);

  await wal.writeSnapshot(10, encodeState(range(1, 10)));
  t.equal((await segmentPaths(dir)).length, 10, 'one snapshot: nothing to fall back on, keep all');
  await wal.writeSnapshot(30, encodeState(range(1, 30)));
  const afterTwo = await segmentPaths(dir);
  t.equal(afterTwo[0], join(dir, 'wal-00000000000000000009.log'), 'segments with LSNs <= 8 gone');
  t.same(await snapshotNames(dir), [
    'snap-00000000000000000010.snap',
    'snap-00000000000000000030.snap',
  ]);

  await wal.writeSnapshot(38, encodeState(range(1, 38)));
  t.same(await snapshotNames(dir), [
    'snap-00000000000000000030.snap',
    'snap-00000000000000000038.snap',
  ]);
  const afterThree = await segmentPaths(dir);
  t.equal(afterThree[0], join(dir, 'wal-00000000000000000029.log'), 'covered by 30: up to 28');
  t.ok(logger.entries.some((e) => /removed covered segments/.test(e.msg)));
  await wal.close();

  const opened = await openLogged(dir, { segmentBytesMax: FOUR_WRITES_BYTES });
  t.same(recoverState(opened), range(1, 40));
  await opened.wal.close();
});

t.test('a corrupt newest snapshot falls back, with a warning, on the older one', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir, { segmentBytesMax: FOUR_WRITES_BYTES });
  await appendIds(wal, 1, 20);
  await wal.writeSnapshot(8, encodeState(range(1, 8)));
  await wal.writeSnapshot(16, encodeState(range(1, 16)));
  await wal.close();
  const newest = join(dir, 'snap-00000000000000000016.snap');
  const bytes = await readFile(newest);
  bytes[bytes.length - 2]! ^= 0x20;
  await writeFile(newest, bytes);

  const opened = await openLogged(dir, { segmentBytesMax: FOUR_WRITES_BYTES });
  t.equal(opened.snapshot?.lsn, 8);
  t.match(opened.logger.warnings(), [
    { obj: { file: newest, reason: /payload CRC/ }, msg: /corrupt/ },
  ]);
  t.same(recoverState(opened), range(1, 20), 'older snapshot + replay = everything');
  // The next snapshot replaces the corrupt one rather than trusting it as the older of two.
  await opened.wal.writeSnapshot(20, encodeState(range(1, 20)));
  t.same(await snapshotNames(dir), [
    'snap-00000000000000000008.snap',
    'snap-00000000000000000020.snap',
  ]);
  await opened.wal.close();
});

t.test(
  'when no snapshot is valid and the log no longer covers the gap: WalCorruptError',
  async (t) => {
    const dir = t.testdir();
    const { wal } = await openLogged(dir, { segmentBytesMax: FOUR_WRITES_BYTES });
    await appendIds(wal, 1, 20);
    await wal.writeSnapshot(8, encodeState(range(1, 8)));
    await wal.writeSnapshot(16, encodeState(range(1, 16)));
    await wal.close();
    for (const name of await snapshotNames(dir)) await writeFile(join(dir, name), 'garbage');
    const error = await openLogged(dir).catch((e: unknown) => e);
    t.ok(error instanceof WalCorruptError);
    t.match(error, { message: /records 1\.\.8 are missing/ });
  },
);

t.test('a snapshot the log does not reach is refused', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir);
  await appendIds(wal, 1, 5);
  await wal.writeSnapshot(5, encodeState(range(1, 5)));
  await wal.close();
  for (const segment of await segmentPaths(dir)) await rm(segment);
  await t.rejects(openLogged(dir), { name: 'WalCorruptError', message: /no WAL segment is left/ });
});

t.test('a torn temp snapshot file is ignored and removed', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir);
  await appendIds(wal, 1, 10);
  await wal.writeSnapshot(4, encodeState(range(1, 4)));
  await wal.close();
  const temp = join(dir, 'snap-00000000000000000009.snap.tmp');
  await writeFile(temp, 'FSWALSNP half-written');
  const opened = await openLogged(dir);
  t.equal(opened.snapshot?.lsn, 4);
  t.same(recoverState(opened), range(1, 10));
  t.notOk((await readdir(dir)).includes('snap-00000000000000000009.snap.tmp'));
  t.same(opened.logger.warnings(), []);
  await opened.wal.close();
});

t.test('writeSnapshot refuses an LSN beyond durable or behind the newest snapshot', async (t) => {
  const dir = t.testdir();
  const { wal } = await openLogged(dir);
  await appendIds(wal, 1, 3);
  await t.rejects(wal.writeSnapshot(4, encodeState([])), RangeError);
  await wal.writeSnapshot(3, encodeState(range(1, 3)));
  await t.rejects(wal.writeSnapshot(2, encodeState([])), RangeError);
  await wal.writeSnapshot(3, encodeState(range(1, 3)));
  t.same(
    await snapshotNames(dir),
    ['snap-00000000000000000003.snap'],
    'the same LSN again replaces it',
  );
  await wal.close();
});
