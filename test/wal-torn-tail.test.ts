import { appendFile, copyFile, mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import t from 'tap';
import {
  collect,
  FRAME_HEADER_BYTES,
  frameOffsets,
  openLogged,
  payloadOf,
  SEGMENT_HEADER_BYTES,
  segmentPaths,
} from './fixtures/wal-kit.js';

const SIZES = [40, 0, 120, 7, 64];

/** A closed log of SIZES.length records in one segment; returns its path. */
async function writeLog(dir: string): Promise<string> {
  const { wal } = await openLogged(dir);
  for (const [i, size] of SIZES.entries()) await wal.append([payloadOf(i + 1, size)]);
  await wal.close();
  const [segment] = await segmentPaths(dir);
  return segment!;
}

/** A fresh directory holding a copy of `segment` cut to `length` bytes. */
async function copyCut(root: string, segment: string, length: number): Promise<string> {
  const dir = join(root, `cut-${length}`);
  await mkdir(dir);
  await copyFile(segment, join(dir, basename(segment)));
  await truncate(join(dir, basename(segment)), length);
  return dir;
}

t.test('a log cut at every byte inside its last record recovers the others', async (t) => {
  const root = t.testdir();
  const segment = await writeLog(join(root, 'source'));
  const offsets = frameOffsets(SIZES);
  const lastStart = offsets.at(-2)!;
  const end = offsets.at(-1)!;
  t.equal((await stat(segment)).size, end, 'the layout is what the format says');
  const expected = SIZES.slice(0, -1).map((size, i) => ({
    lsn: i + 1,
    payload: payloadOf(i + 1, size),
  }));
  let cuts = 0;
  for (let length = lastStart + 1; length < end; length++) {
    const dir = await copyCut(root, segment, length);
    const { wal, records, logger } = await openLogged(dir);
    const path = join(dir, basename(segment));
    t.same(collect(records), expected, `cut at ${length}: first ${SIZES.length - 1} records`);
    t.match(logger.warnings(), [{ obj: { file: path, offset: lastStart }, msg: /torn tail/ }]);
    t.equal((await stat(path)).size, lastStart, 'the torn bytes are gone from the file');
    t.equal(await wal.append([payloadOf(99)]), SIZES.length, 'appending works after recovery');
    await wal.close();
    const again = await openLogged(dir);
    t.equal(collect(again.records).length, SIZES.length);
    t.same(again.logger.warnings(), [], 'the repaired log is clean');
    await again.wal.close();
    cuts++;
  }
  t.equal(cuts, end - lastStart - 1);
});

t.test('a cut exactly between records is no damage at all', async (t) => {
  const root = t.testdir();
  const segment = await writeLog(join(root, 'source'));
  const dir = await copyCut(root, segment, frameOffsets(SIZES).at(-2)!);
  const { wal, records, logger } = await openLogged(dir);
  t.equal(collect(records).length, SIZES.length - 1);
  t.same(logger.warnings(), []);
  await wal.close();
});

t.test('zeros or a bad CRC at the very end are a torn tail too', async (t) => {
  const root = t.testdir();
  const segment = await writeLog(join(root, 'zeros'));
  await appendFile(segment, Buffer.alloc(4096));
  const zeros = await openLogged(join(root, 'zeros'));
  t.equal(collect(zeros.records).length, SIZES.length);
  t.match(zeros.logger.warnings(), [{ obj: { offset: frameOffsets(SIZES).at(-1) } }]);
  await zeros.wal.close();

  const crcSegment = await writeLog(join(root, 'crc'));
  const bytes = await readFile(crcSegment);
  bytes[bytes.length - 1]! ^= 0x01;
  await writeFile(crcSegment, bytes);
  const crc = await openLogged(join(root, 'crc'));
  t.equal(collect(crc.records).length, SIZES.length - 1);
  t.match(crc.logger.warnings(), [{ obj: { problem: /CRC/, offset: frameOffsets(SIZES).at(-2) } }]);
  await crc.wal.close();
});

t.test(
  'a last segment whose header never reached the disk is removed with a warning',
  async (t) => {
    const root = t.testdir();
    for (const [name, content] of [
      ['empty', Buffer.alloc(0)],
      ['short', Buffer.from('FSWAL')],
      ['zeros', Buffer.alloc(SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES)],
    ] as const) {
      const dir = join(root, name);
      await writeLog(dir);
      const rolled = join(dir, `wal-${String(SIZES.length + 1).padStart(20, '0')}.log`);
      await writeFile(rolled, content);
      const { wal, records, logger } = await openLogged(dir);
      t.equal(collect(records).length, SIZES.length, `${name}: every record kept`);
      t.match(logger.warnings(), [{ obj: { file: rolled }, msg: /header was never written/ }]);
      t.same(await segmentPaths(dir), [join(dir, 'wal-00000000000000000001.log')]);
      t.equal(await wal.append([payloadOf(1)]), SIZES.length + 1);
      await wal.close();
    }
  },
);
