import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// A WAL directory's identity: a random id made once, the first time an engine uses it. The sale
// leases carry it, so an engine restarted on the same directory can tell its own dead
// predecessor's lease from another engine's.

const FILE_NAME = 'identity.json';

export async function walIdentity(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, FILE_NAME);
  try {
    await writeFile(path, JSON.stringify({ walId: randomUUID() }), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const walId = (JSON.parse(await readFile(path, 'utf8')) as { walId?: unknown }).walId;
  if (typeof walId !== 'string' || walId.length === 0) throw new Error(`${path} holds no walId`);
  return walId;
}
