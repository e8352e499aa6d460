import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import t, { type Test } from 'tap';
import { WalCorruptError } from '../wal/index.js';
import {
  COMMIT_FRAME_BYTES,
  frameOffsets,
  openLogged,
  payloadOf,
  segmentPaths,
} from './fixtures/wal-kit.js';

const SIZES = [40, 40, 40, 40, 40];

async function writeLog(dir: string, segmentBytesMax?: number): Promise<string[]> {
  const { wal } = await openLogged(dir, segmentBytesMax ? { segmentBytesMax } : {});
  for (const [i, size] of SIZES.entries()) await wal.append([payloadOf(i + 1, size)]);
  await wal.close();
  return segmentPaths(dir);
}

async function flipByte(path: string, offset: number, mask = 0xff): Promise<Buffer> {
  const bytes = await readFile(path);
  bytes[offset]! ^= mask;
  await writeFile(path, bytes);
  return bytes;
}

/** Opening must fail with a WalCorruptError for `file` at `offset`, and leave the file untouched. */
async function expectCorrupt(t: Test, dir: string, file: string, offset: number, reason: RegExp) {
  const before = await readFile(file);
  const error = await openLogged(dir).then(
    async ({ wal }) => {
      await wal.close();
      return null;
    },
    (e: unknown) => e,
  );
  t.ok(error instanceof WalCorruptError, 'a WalCorruptError');
  t.match(error, { file, offset, message: reason });
  t.match((error as Error).message, basename(file), 'the message names the file');
  t.match((error as Error).message, `offset ${offset}`, 'and the offset');
  t.ok((await readFile(file)).equals(before), 'recovery repaired nothing');
  // The lock was released: a second try meets the same damage, not a lock.
  await t.rejects(openLogged(dir), WalCorruptError);
}

t.test('a damaged record before valid ones stops recovery, wherever the flip is', async (t) => {
  const second = frameOffsets(SIZES)[1]!;
  const cases = [
    ['length field, low byte', 0, 0x01, /CRC mismatch|truncated|valid frame follows/],
    ['length field, high byte', 3, 0x80, /impossible payload length/],
    ['CRC field', 5, 0x10, /CRC mismatch/],
    ['payload', 8 + 20, 0x04, /CRC mismatch/],
    ['last payload byte', 8 + 39, 0x01, /CRC mismatch/],
  ] as const;
  const root = t.testdir();
  for (const [what, delta, mask, reason] of cases) {
    const dir = join(root, `flip-${delta}`);
    const [segment] = await writeLog(dir);
    await flipByte(segment!, second + delta, mask);
    t.test(what, (t) => expectCorrupt(t, dir, segment!, second, reason));
  }
});

t.test('a bad frame at the end of a sealed segment is damage, not a torn tail', async (t) => {
  const dir = t.testdir();
  const segments = await writeLog(dir, 100);
  t.ok(segments.length >= 3);
  const first = segments[0]!;
  const size = (await readFile(first)).length;
  // The last frame of a segment is the commit frame of its last write.
  await flipByte(first, size - 1, 0x01);
  await expectCorrupt(t, dir, first, size - COMMIT_FRAME_BYTES, /sealed segment/);
});

t.test('bad segment headers', async (t) => {
  const cases = [
    ['bad magic', 0, /bad magic/],
    ['unknown version', 8, /unknown format version/],
    ['header CRC', 17, /header CRC mismatch/],
  ] as const;
  const root = t.testdir();
  for (const [what, offset, reason] of cases) {
    const dir = join(root, `header-${offset}`);
    const segments = await writeLog(dir, 100);
    // Not the last segment: a damaged header there is never a crash leftover.
    await flipByte(segments[1]!, offset, 0x02);
    t.test(what, (t) => expectCorrupt(t, dir, segments[1]!, 0, reason));
  }
});

t.test('a segment missing between others is an LSN gap', async (t) => {
  const dir = t.testdir();
  const segments = await writeLog(dir, 100);
  await rm(segments[1]!);
  await expectCorrupt(t, dir, segments[2]!, 0, /starts at LSN \d+ but .* ends at LSN \d+/);
});

t.test('a missing first segment, with no snapshot to cover it, is lost records', async (t) => {
  const dir = t.testdir();
  const segments = await writeLog(dir, 100);
  await rm(segments[0]!);
  await expectCorrupt(t, dir, segments[1]!, 0, /records 1\.\.\d+ are missing/);
});

t.test('a segment whose header and name disagree is refused', async (t) => {
  const dir = t.testdir();
  const [segment] = await writeLog(dir);
  const renamed = join(dir, 'wal-00000000000000000007.log');
  await writeFile(renamed, await readFile(segment!));
  await rm(segment!);
  await expectCorrupt(t, dir, renamed, 0, /header says first LSN 1, name says 7/);
});

t.test(
  'a segment changed between recovery and a second replay is caught on that read',
  async (t) => {
    const dir = t.testdir();
    const [segment] = await writeLog(dir);
    const { wal, records } = await openLogged(dir);
    t.equal(
      [...records].length,
      SIZES.length,
      'the first replay uses the bytes recovery validated',
    );
    await flipByte(segment!, frameOffsets(SIZES)[2]! + 10);
    t.throws(() => [...records], { name: 'WalCorruptError', offset: frameOffsets(SIZES)[2] });
    await wal.close();
  },
);
