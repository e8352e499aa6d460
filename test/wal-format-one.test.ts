// Segments of format 1 (record frames only, no commit frames), as engines wrote them before, still
// open and replay. They keep their own torn-tail rule; new writes always go to format 2.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { WalCorruptError } from '../wal/index.js';
import {
  collect,
  FRAME_HEADER_BYTES,
  formatOneSegment,
  openLogged,
  payloadOf,
  SEGMENT_HEADER_BYTES,
  segmentPaths,
} from './fixtures/wal-kit.js';

const segmentName = (firstLsn: number) => `wal-${String(firstLsn).padStart(20, '0')}.log`;
const records = (from: number, to: number, size = 40) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    lsn: from + i,
    payload: payloadOf(from + i, size),
  }));

/** A directory of format 1 segments, one per [firstLsn, lastLsn] range; returns their paths. */
async function formatOneLog(dir: string, ranges: readonly (readonly [number, number])[]) {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [from, to] of ranges) {
    const path = join(dir, segmentName(from));
    await writeFile(
      path,
      formatOneSegment(
        from,
        records(from, to).map((r) => r.payload),
      ),
    );
    paths.push(path);
  }
  return paths;
}

t.test('a format 1 log opens, replays, and goes on in a format 2 segment', async (t) => {
  const dir = t.testdir();
  const old = await formatOneLog(dir, [
    [1, 3],
    [4, 5],
  ]);
  const before = await Promise.all(old.map((path) => readFile(path)));
  const { wal, records: replayed, logger } = await openLogged(dir);
  t.same(collect(replayed), records(1, 5));
  t.same(logger.warnings(), []);
  t.equal(await wal.append([payloadOf(6)]), 6);
  await wal.close();
  const segments = await segmentPaths(dir);
  t.same(segments, [...old, join(dir, segmentName(6))], 'the format 1 tail is sealed as it was');
  for (const [i, path] of old.entries()) t.ok((await readFile(path)).equals(before[i]!));
  t.equal((await readFile(segments[2]!)).readUInt32LE(8), 2, 'the new segment is format 2');

  const again = await openLogged(dir);
  t.same(collect(again.records), records(1, 6));
  t.same(again.logger.warnings(), []);
  await again.wal.close();
});

t.test('an empty format 1 tail is given a format 2 header and written to', async (t) => {
  const dir = t.testdir();
  const [, empty] = await formatOneLog(dir, [
    [1, 2],
    [3, 2],
  ]);
  t.equal((await stat(empty!)).size, SEGMENT_HEADER_BYTES, 'a header and nothing else');
  const { wal } = await openLogged(dir);
  t.equal(await wal.append([payloadOf(3)]), 3);
  await wal.close();
  t.equal((await segmentPaths(dir)).length, 2, 'no segment added');
  t.equal((await readFile(empty!)).readUInt32LE(8), 2, 'its header is format 2 now');
  const again = await openLogged(dir);
  t.same(collect(again.records), records(1, 3));
  await again.wal.close();
});

t.test(
  'format 1 keeps its torn-tail rule: the last frames cut, damage before valid ones stops',
  async (t) => {
    const root = t.testdir();
    const torn = join(root, 'torn');
    const [segment] = await formatOneLog(torn, [[1, 4]]);
    const lastFrame = SEGMENT_HEADER_BYTES + 3 * (FRAME_HEADER_BYTES + 40);
    const bytes = await readFile(segment!);
    await writeFile(segment!, bytes.subarray(0, lastFrame + 20));
    const opened = await openLogged(torn);
    t.same(collect(opened.records), records(1, 3));
    t.match(opened.logger.warnings(), [
      { obj: { file: segment, offset: lastFrame }, msg: /torn tail/ },
    ]);
    t.equal((await stat(segment!)).size, lastFrame);
    await opened.wal.close();

    const damaged = join(root, 'damaged');
    const [other] = await formatOneLog(damaged, [[1, 4]]);
    const second = SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES + 40;
    const flipped = await readFile(other!);
    flipped[second + 20]! ^= 0x04;
    await writeFile(other!, flipped);
    const error = await openLogged(damaged).catch((e: unknown) => e);
    t.ok(error instanceof WalCorruptError);
    t.match(error, {
      file: other,
      offset: second,
      message: /CRC mismatch, yet a valid frame follows/,
    });
    t.ok((await readFile(other!)).equals(flipped), 'recovery repaired nothing');
  },
);

t.test('format 1 segments are pruned like any other once snapshots cover them', async (t) => {
  const dir = t.testdir();
  const [first] = await formatOneLog(dir, [[1, 3]]);
  const { wal } = await openLogged(dir);
  for (let lsn = 4; lsn <= 6; lsn++) await wal.append([payloadOf(lsn)]);
  await wal.writeSnapshot(4, Buffer.from('four'));
  await wal.writeSnapshot(6, Buffer.from('six'));
  await wal.close();
  const segments = await segmentPaths(dir);
  t.notOk(
    segments.includes(first!),
    'the format 1 segment went once the older snapshot covered it',
  );
  t.same(segments, [join(dir, segmentName(4))]);
  const again = await openLogged(dir);
  t.equal(again.snapshot?.lsn, 6);
  t.same(collect(again.records), []);
  await again.wal.close();
});
