// A power loss during a group commit's write + fdatasync can leave that write with holes: the page
// cache writes its pages back in any order, so an early frame may be lost while later ones landed.
// None of that write was acknowledged (acks wait for the fdatasync), so recovery cuts the whole
// write with a warning. Damage inside a write that finished (a later write follows it) still stops
// recovery. The logs are written by the WAL, then damaged by hand the way a power loss would.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { WalCorruptError } from '../wal/index.js';
import {
  COMMIT_FRAME_BYTES,
  collect,
  FRAME_HEADER_BYTES,
  openLogged,
  payloadOf,
  SEGMENT_HEADER_BYTES,
  segmentPaths,
} from './fixtures/wal-kit.js';

/** Where one write lies in its segment: its record frames, then its commit frame. */
interface WriteLayout {
  readonly start: number;
  readonly frames: readonly number[];
  readonly commit: number;
  readonly end: number;
  readonly firstLsn: number;
}

/** The layout of a segment written one append (one write) per entry of `writes` (payload sizes). */
function layoutOf(writes: readonly (readonly number[])[]): WriteLayout[] {
  let offset = SEGMENT_HEADER_BYTES;
  let lsn = 1;
  return writes.map((sizes) => {
    const start = offset;
    const frames = sizes.map((size) => {
      const frame = offset;
      offset += FRAME_HEADER_BYTES + size;
      return frame;
    });
    const layout = {
      start,
      frames,
      commit: offset,
      end: offset + COMMIT_FRAME_BYTES,
      firstLsn: lsn,
    };
    offset = layout.end;
    lsn += sizes.length;
    return layout;
  });
}

/** The records of the first `count` writes, each payload derived from its LSN. */
function recordsOf(writes: readonly (readonly number[])[], count: number) {
  return writes.slice(0, count).flatMap((sizes, w) => {
    const firstLsn = writes.slice(0, w).reduce((sum, write) => sum + write.length, 1);
    return sizes.map((size, k) => ({ lsn: firstLsn + k, payload: payloadOf(firstLsn + k, size) }));
  });
}

/** A closed log holding `writes`, one append each; checks each append was one write. */
async function writeLog(dir: string, writes: readonly (readonly number[])[]): Promise<string> {
  const { wal } = await openLogged(dir);
  for (const [w, sizes] of writes.entries()) {
    const first = wal.lastLsn + 1;
    await wal.append(sizes.map((size, k) => payloadOf(first + k, size)));
    assert.equal(wal.stats.flushes, w + 1, 'each append is one write + fdatasync');
  }
  await wal.close();
  const [segment, ...others] = await segmentPaths(dir);
  assert.equal(others.length, 0);
  assert.equal(
    (await stat(segment!)).size,
    layoutOf(writes).at(-1)!.end,
    'the layout is the format',
  );
  return segment!;
}

/** A fresh directory with a copy of `segment`, damaged by `damage`; returns the copy's path. */
async function damagedCopy(dir: string, segment: string, damage: (bytes: Buffer) => Buffer) {
  await mkdir(dir, { recursive: true });
  const copy = join(dir, basename(segment));
  await copyFile(segment, copy);
  await writeFile(copy, damage(await readFile(copy)));
  return copy;
}

const zeros =
  (from: number, to: number) =>
  (bytes: Buffer): Buffer =>
    bytes.fill(0, from, to);
const flip =
  (at: number, mask = 0x10) =>
  (bytes: Buffer): Buffer => {
    bytes[at]! ^= mask;
    return bytes;
  };
const cut = (length: number) => (bytes: Buffer) => bytes.subarray(0, length);
const both =
  (...damages: ((bytes: Buffer) => Buffer)[]) =>
  (bytes: Buffer): Buffer =>
    damages.reduce((b, damage) => damage(b), bytes);

/** Is the record frame at `offset` whole, with a CRC that matches? (Spelled out, as on disk.) */
function frameIsValid(bytes: Buffer, offset: number): boolean {
  if (offset + FRAME_HEADER_BYTES > bytes.length) return false;
  const length = bytes.readUInt32LE(offset);
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > bytes.length) return false;
  const covered = Buffer.concat([
    bytes.subarray(offset, offset + 4),
    bytes.subarray(offset + 8, end),
  ]);
  return crc32(covered) === bytes.readUInt32LE(offset + 4);
}

const WRITES = [[40], [10, 20], [30, 30, 30, 30]] as const;
const LAYOUT = layoutOf(WRITES);
const LAST = LAYOUT.at(-1)!;
const MIDDLE = LAYOUT[1]!;

t.test('the commit frame closing a write is what the format says', async (t) => {
  const segment = await writeLog(t.testdir(), WRITES);
  const bytes = await readFile(segment);
  for (const write of LAYOUT) {
    const at = write.commit;
    t.same([...bytes.subarray(at, at + 4)], [0xff, 0x43, 0x4d, 0xff], 'the tag');
    t.equal(
      crc32(bytes.subarray(at + 8, write.end), crc32(bytes.subarray(at, at + 4))),
      bytes.readUInt32LE(at + 4),
      'CRC of tag + body',
    );
    t.equal(bytes.readUInt32LE(at + 8), write.start, "the offset of the write's first frame");
    t.equal(bytes.readUInt32LE(at + 12), write.frames.length, 'its records');
    t.equal(bytes.readBigUInt64LE(at + 16), BigInt(write.firstLsn), 'its first LSN');
  }
  t.equal(bytes.readUInt32LE(8), 2, 'segment format 2');
});

t.test(
  'a last write with holes is cut whole, with a warning; every earlier record stays',
  async (t) => {
    const root = t.testdir();
    const segment = await writeLog(join(root, 'source'), WRITES);
    const [f0, f1, f2] = LAST.frames as [number, number, number];
    const cases = [
      ['its first frame lost (zeros), the later ones intact', zeros(f0, f1), f0],
      ['its first frame with a flipped bit, the later ones intact', flip(f0 + 12), f0],
      [
        'its first frame lost and the file cut inside its third',
        both(zeros(f0, f1), cut(f2 + 5)),
        f0,
      ],
      ['a middle frame lost', zeros(f1, f2), f1],
      ['only its first frame and its commit frame on disk', zeros(f1, LAST.commit), f1],
      ['its commit frame lost, every record intact', zeros(LAST.commit, LAST.end), LAST.commit],
      ["its commit frame's CRC flipped", flip(LAST.commit + 5), LAST.commit],
      ['cut inside its commit frame', cut(LAST.commit + 10), LAST.commit],
    ] as const;
    for (const [name, damage, problemOffset] of cases) {
      t.test(name, async (t) => {
        const dir = join(root, name.replaceAll(/\W+/g, '-'));
        const path = await damagedCopy(dir, segment, damage);
        const damaged = await readFile(path);
        const laterIntact = LAST.frames.filter(
          (f) => f > problemOffset && frameIsValid(damaged, f),
        );
        t.comment(`${laterIntact.length} valid frames of the write after the damage`);
        const { wal, records, logger } = await openLogged(dir);
        t.same(collect(records), recordsOf(WRITES, 2), 'exactly the records of the earlier writes');
        t.match(logger.warnings(), [
          {
            obj: { file: path, offset: LAST.start, problemOffset },
            msg: /torn tail.*none of it was acknowledged/,
          },
        ]);
        t.equal(logger.warnings().length, 1);
        t.equal((await stat(path)).size, LAST.start, 'the whole last write is gone from the file');
        t.equal(
          await wal.append([payloadOf(LAST.firstLsn)]),
          LAST.firstLsn,
          'its LSNs are given again',
        );
        await wal.close();
        const again = await openLogged(dir);
        t.same(collect(again.records), [
          ...recordsOf(WRITES, 2),
          { lsn: 4, payload: payloadOf(4) },
        ]);
        t.same(again.logger.warnings(), [], 'the repaired log is clean');
        await again.wal.close();
      });
    }
  },
);

t.test(
  'the first frame damaged and all later frames valid: the case the stop was for',
  async (t) => {
    const root = t.testdir();
    const segment = await writeLog(join(root, 'source'), WRITES);
    const path = await damagedCopy(
      join(root, 'holes'),
      segment,
      zeros(LAST.frames[0]!, LAST.frames[1]!),
    );
    const bytes = await readFile(path);
    t.notOk(frameIsValid(bytes, LAST.frames[0]!));
    t.ok(
      LAST.frames.slice(1).every((f) => frameIsValid(bytes, f)),
      'the later frames are intact',
    );
    const { wal, records } = await openLogged(join(root, 'holes'));
    t.equal(collect(records).length, 3);
    await wal.close();
  },
);

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
  t.match((error as Error).message, `offset ${offset}`, 'the message names the offset');
  t.ok((await readFile(file)).equals(before), 'recovery repaired nothing');
  await t.rejects(openLogged(dir), WalCorruptError, 'and says so again');
}

t.test('damage inside a write that finished still stops recovery', async (t) => {
  const root = t.testdir();
  const segment = await writeLog(join(root, 'source'), WRITES);
  const [m0, m1] = MIDDLE.frames as [number, number];
  const first = LAYOUT[0]!.frames[0]!;
  const cases = [
    ["the middle write's first frame lost", zeros(m0, m1), m0, /later write follows/],
    [
      "the middle write's commit frame lost",
      zeros(MIDDLE.commit, MIDDLE.end),
      MIDDLE.commit,
      /later write follows/,
    ],
    [
      "the first write's payload flipped",
      flip(first + 20),
      first,
      /CRC mismatch, yet a later write/,
    ],
    [
      "the middle write's second frame flipped, the last write's commit lost",
      both(flip(m1 + 10), zeros(LAST.commit, LAST.end)),
      m1,
      /record frame after the write's commit/,
    ],
  ] as const;
  for (const [name, damage, offset, reason] of cases) {
    t.test(name, async (t) => {
      const dir = join(root, name.replaceAll(/\W+/g, '-'));
      const path = await damagedCopy(dir, segment, damage);
      await expectCorrupt(t, dir, path, offset, reason);
    });
  }
});

t.test('a commit frame whose CRC holds but whose facts are wrong stops recovery', async (t) => {
  const root = t.testdir();
  const segment = await writeLog(join(root, 'source'), WRITES);
  // The last write's commit claims one record fewer, its CRC made to match: no torn write does that.
  const lie = (bytes: Buffer): Buffer => {
    const at = LAST.commit;
    bytes.writeUInt32LE(LAST.frames.length - 1, at + 12);
    bytes.writeUInt32LE(
      crc32(bytes.subarray(at + 8, at + 24), crc32(bytes.subarray(at, at + 4))),
      at + 4,
    );
    return bytes;
  };
  const dir = join(root, 'lie');
  const path = await damagedCopy(dir, segment, lie);
  await expectCorrupt(t, dir, path, LAST.commit, /does not match the write it closes/);
});

t.test(
  'a torn write after segment rolls and snapshots: the sealed segments are not touched',
  async (t) => {
    const dir = t.testdir();
    const segmentBytesMax =
      SEGMENT_HEADER_BYTES + 2 * (FRAME_HEADER_BYTES + 40 + COMMIT_FRAME_BYTES);
    const { wal } = await openLogged(dir, { segmentBytesMax });
    for (let lsn = 1; lsn <= 9; lsn++) await wal.append([payloadOf(lsn)]);
    await wal.writeSnapshot(4, Buffer.from('four'));
    await wal.writeSnapshot(6, Buffer.from('six'));
    await wal.append([payloadOf(10, 30), payloadOf(11, 30)]);
    await wal.close();
    const segments = await segmentPaths(dir);
    t.equal(basename(segments[0]!), 'wal-00000000000000000005.log', 'covered segments pruned');
    const tail = segments.at(-1)!;
    t.equal(basename(tail), 'wal-00000000000000000011.log', 'in a segment of its own');
    const sealed = await Promise.all(segments.slice(0, -1).map((s) => readFile(s)));
    const first = SEGMENT_HEADER_BYTES;
    await writeFile(tail, zeros(first, first + FRAME_HEADER_BYTES + 40)(await readFile(tail)));
    const opened = await openLogged(dir, { segmentBytesMax });
    t.equal(opened.snapshot?.payload.toString(), 'six');
    t.same(
      collect(opened.records).map((r) => r.lsn),
      [7, 8, 9, 10],
    );
    t.match(opened.logger.warnings(), [{ obj: { file: tail, offset: first }, msg: /torn tail/ }]);
    for (const [i, bytes] of sealed.entries()) t.ok((await readFile(segments[i]!)).equals(bytes));
    t.equal(await opened.wal.append([payloadOf(11)]), 11);
    await opened.wal.close();
  },
);

const sizesArb = fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 5 });
const hitArb = fc.record({
  at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  length: fc.integer({ min: 1, max: 64 }),
  mask: fc.integer({ min: 1, max: 255 }),
});

interface Hit {
  readonly at: number;
  readonly length: number;
  readonly mask: number;
}

/** Flips bits in the `hits` ranges of [from, to): every hit changes at least its first byte. */
function flipRanges(bytes: Buffer, from: number, to: number, hits: readonly Hit[]) {
  for (const hit of hits) {
    const start = from + Math.floor(hit.at * (to - from));
    for (let i = start; i < Math.min(to, start + hit.length); i++) bytes[i]! ^= hit.mask;
  }
  return bytes;
}

t.test(
  'property: any damage within the last write recovers exactly the records before it',
  async (t) => {
    const root = t.testdir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(sizesArb, { minLength: 0, maxLength: 3 }),
        sizesArb,
        fc.array(hitArb, { minLength: 0, maxLength: 3 }),
        fc.option(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { nil: null }),
        async (earlier, last, hits, cutAt) => {
          fc.pre(hits.length > 0 || cutAt !== null);
          const writes = [...earlier, last];
          const dir = join(root, `run-${run++}`);
          const segment = await writeLog(join(dir, 'source'), writes);
          const { start, end } = layoutOf(writes).at(-1)!;
          const length = cutAt === null ? end : start + 1 + Math.floor(cutAt * (end - start - 1));
          const damage = (bytes: Buffer) => flipRanges(bytes, start, end, hits).subarray(0, length);
          const path = await damagedCopy(join(dir, 'damaged'), segment, damage);
          const { wal, records, logger } = await openLogged(join(dir, 'damaged'));
          assert.deepEqual(collect(records), recordsOf(writes, earlier.length));
          assert.equal(logger.warnings().length, 1);
          assert.match(logger.warnings()[0]!.msg, /torn tail/);
          assert.equal((await stat(path)).size, start);
          await wal.close();
        },
      ),
      { numRuns: 40 },
    );
    t.pass(`${run} damaged logs recovered to the records before their last write`);
  },
);

t.test('property: any damage within an earlier write stops recovery where it is', async (t) => {
  const root = t.testdir();
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(sizesArb, { minLength: 2, maxLength: 4 }),
      fc.nat(),
      fc.array(hitArb, { minLength: 1, maxLength: 3 }),
      async (writes, pick, hits) => {
        const layout = layoutOf(writes);
        const victim = layout[pick % (layout.length - 1)]!;
        const dir = join(root, `run-${run++}`);
        const segment = await writeLog(join(dir, 'source'), writes);
        const damage = (bytes: Buffer) => flipRanges(bytes, victim.start, victim.end, hits);
        const path = await damagedCopy(join(dir, 'damaged'), segment, damage);
        const before = await readFile(path);
        const error = await openLogged(join(dir, 'damaged')).then(
          async ({ wal }) => {
            await wal.close();
            return null;
          },
          (e: unknown) => e,
        );
        assert.ok(error instanceof WalCorruptError, `refused: ${String(error)}`);
        assert.ok(
          error.offset >= victim.start && error.offset < victim.end,
          'names the damaged write',
        );
        assert.match(error.message, /later write follows/);
        assert.ok((await readFile(path)).equals(before));
      },
    ),
    { numRuns: 30 },
  );
  t.pass(`${run} logs damaged before their last write were refused`);
});
