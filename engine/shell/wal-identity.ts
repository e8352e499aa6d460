import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listDir } from '../../wal/file-names.js';
import { fsyncDir } from '../../wal/fs-async.js';
import { SALE_HOMES_BUCKET } from '../protocol/subjects.js';
import { jsonObjectIn } from './json-object.js';

// A WAL directory's identity: a random id made once, the first time an engine uses it. The sale
// leases and homes carry it, so an engine restarted on the same directory can tell its own dead
// predecessor's lease from another engine's, and its own WAL from another one.
//
// The file is made whole and durable before anything else is written to the directory: its
// content in a temp file, fsynced, then hard-linked into place (which, unlike a rename, never
// replaces a file another engine starting at the same moment made first), then the directory
// fsynced. So a WAL's data never sits next to an identity a power loss could still empty.

const FILE_NAME = 'identity.json';

/** The identity file can't be read and its id can't safely be made up again. */
export class WalIdentityError extends Error {
  override readonly name = 'WalIdentityError';
}

export async function walIdentity(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, FILE_NAME);
  const text = await readIfPresent(path);
  if (text !== null) return existingIdentity(dir, path, text);
  // null: another engine made the file between our read and our link; its id is the one.
  const created = await createIdentity(dir, path);
  return created ?? existingIdentity(dir, path, await readFile(path, 'utf8'));
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * The id a file holds. An empty one, in a directory holding no WAL data, is a first start cut
 * short before its identity was durable (an older version wrote it without fsync): nothing has
 * used that id, so a new one replaces it. Any other damage is refused: the directory's WAL data
 * belongs to the lost id, and a new one would make this WAL pass for another.
 */
async function existingIdentity(dir: string, path: string, text: string): Promise<string> {
  const walId = walIdIn(text);
  if (walId !== null) return walId;
  const empty = isEmpty(text);
  if (empty && !(await holdsWalData(dir))) return replaceEmptyIdentity(dir, path);
  throw new WalIdentityError(damageMessage(path, empty));
}

function walIdIn(text: string): string | null {
  const walId = jsonObjectIn(text)?.walId;
  return typeof walId === 'string' && walId.length > 0 ? walId : null;
}

/** What a power loss leaves of a file whose data never reached the disk: nothing, or zeros. */
function isEmpty(text: string): boolean {
  return /^[\s\0]*$/.test(text);
}

async function holdsWalData(dir: string): Promise<boolean> {
  const { segments, snapshots } = await listDir(dir);
  return segments.length > 0 || snapshots.length > 0;
}

function damageMessage(path: string, empty: boolean): string {
  const what = empty
    ? `${path} is empty, but its directory holds WAL data`
    : `${path} holds no walId (it is damaged or was not written by the engine)`;
  return (
    `${what}: refusing to make up a new WAL identity, which would make this WAL pass for another. ` +
    `Write {"walId":"<id>"} into it with the walId the ${SALE_HOMES_BUCKET} KV bucket records ` +
    'for the sales of this WAL, or delete it to give this WAL a new identity (its sales then ' +
    'need ENGINE_SALES_ADOPT)'
  );
}

/** The new id, or null when another engine's file got there first. */
async function createIdentity(dir: string, path: string): Promise<string | null> {
  const walId = randomUUID();
  const temp = await writeDurableTemp(dir, walId);
  try {
    await link(temp, path);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'EEXIST') return null;
    if (!NO_HARD_LINKS.has(code ?? '')) throw error;
    return createInPlace(dir, path, walId);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await fsyncDir(dir);
  return walId;
}

/** What link() says on a filesystem without hard links (SMB shares, some FUSE mounts). */
const NO_HARD_LINKS: ReadonlySet<string> = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Without hard links: created exclusively in place, then made durable. A power loss in between
 * can leave it empty, which the next start replaces while the directory holds no WAL data yet.
 */
async function createInPlace(dir: string, path: string, walId: string): Promise<string | null> {
  try {
    await writeDurably(path, walId);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
  await fsyncDir(dir);
  return walId;
}

async function replaceEmptyIdentity(dir: string, path: string): Promise<string> {
  const walId = randomUUID();
  const temp = await writeDurableTemp(dir, walId);
  await rename(temp, path);
  await fsyncDir(dir);
  return walId;
}

/** A temp file named after the id, so engines racing to make the identity never share one. */
async function writeDurableTemp(dir: string, walId: string): Promise<string> {
  const temp = join(dir, `${FILE_NAME}.${walId}.tmp`);
  await writeDurably(temp, walId);
  return temp;
}

/** Creates `path` (never over an existing file) holding `walId`, synced; removed if that fails. */
async function writeDurably(path: string, walId: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(JSON.stringify({ walId }));
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await handle.close();
}
