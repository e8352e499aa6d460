import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { WalIdentityError, walIdentity } from '../engine/shell/wal-identity.js';
import { openWal } from '../wal/index.js';
import { MemoryLogger, payloadOf } from './fixtures/wal-kit.js';

// identity.json names a WAL directory for the sale leases and homes. It is made whole and durable
// before the WAL writes anything next to it. A damaged one is replaced only when nothing can have
// used it (empty, in a directory without WAL data); otherwise the engine refuses to start, naming
// the file: a new id on a WAL holding orders would make it pass for another WAL.

const FILE_NAME = 'identity.json';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RACING_STARTS = 8;

/** A directory holding WAL data: one record, durable. */
async function walWithData(dir: string): Promise<void> {
  const { wal } = await openWal({ dir, logger: new MemoryLogger() });
  await wal.append([payloadOf(1)]);
  await wal.close();
}

t.test('made once, then read back; nothing else left in the directory', async (t) => {
  const dir = join(t.testdir(), 'wal');
  const walId = await walIdentity(dir);
  t.match(walId, UUID);
  t.equal(await walIdentity(dir), walId, 'the same id at the next start');
  t.same(JSON.parse(await readFile(join(dir, FILE_NAME), 'utf8')), { walId });
  t.same(await readdir(dir), [FILE_NAME], 'no temp file left');
});

t.test('engines starting at once on a new directory all get the same id', async (t) => {
  const dir = t.testdir();
  const ids = await Promise.all(Array.from({ length: RACING_STARTS }, () => walIdentity(dir)));
  t.equal(new Set(ids).size, 1, `one id for ${RACING_STARTS} racing starts`);
  t.same(await readdir(dir), [FILE_NAME], 'the losers left no temp file');
});

for (const [what, text] of [
  ['an empty', ''],
  ['a zero-filled', '\0'.repeat(48)],
] as const)
  t.test(`${what} file in a directory without WAL data gets a new id`, async (t) => {
    const dir = t.testdir();
    await writeFile(join(dir, FILE_NAME), text);
    const walId = await walIdentity(dir);
    t.match(walId, UUID);
    t.same(JSON.parse(await readFile(join(dir, FILE_NAME), 'utf8')), { walId }, 'written down');
    t.equal(await walIdentity(dir), walId, 'and kept');
  });

t.test('an empty file next to WAL data refuses to start, naming the file', async (t) => {
  const dir = t.testdir();
  await walWithData(dir);
  const path = join(dir, FILE_NAME);
  await writeFile(path, '');
  await t.rejects(walIdentity(dir), {
    name: 'WalIdentityError',
    message: new RegExp(`^${path} is empty, but its directory holds WAL data`),
  });
  t.equal(await readFile(path, 'utf8'), '', 'the file is left for the operator');
});

for (const [what, text] of [
  ['cut off', '{"walId":"3f2a'],
  ['without a walId', '{"id":"x"}'],
  ['with an empty walId', '{"walId":""}'],
  ['JSON null', 'null'],
] as const)
  t.test(`a file ${what} refuses to start, even without WAL data`, async (t) => {
    const dir = t.testdir();
    const path = join(dir, FILE_NAME);
    await writeFile(path, text);
    const failure = await walIdentity(dir).catch((error: unknown) => error);
    t.ok(failure instanceof WalIdentityError, 'a WalIdentityError');
    t.match(failure, { message: new RegExp(`^${path} holds no walId`) });
    t.equal(await readFile(path, 'utf8'), text, 'the file is left as it was');
  });
