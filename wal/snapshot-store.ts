// Reading and writing snapshot files. A snapshot becomes visible only by rename, after its bytes
// are durable, so a crash leaves either the old set of snapshots or the new one plus a temp file.
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from './crc.js';
import type { LsnFile } from './file-names.js';
import { snapshotFileName, snapshotTempFileName } from './file-names.js';
import { closeFd, fsyncDir, fsyncFd, openFd, pwriteAll } from './fs-async.js';
import { SNAPSHOT_BYTES_MAX } from './limits.js';
import { decodeSnapshot, encodeSnapshotHeader, SNAPSHOT_HEADER_BYTES } from './snapshot-format.js';
import type { WalLogger, WalSnapshot } from './types.js';

/**
 * Writes the snapshot to a temp file, makes it durable, then renames it into place. On any failure
 * the temp file goes: a partial one would keep the space a full disk (ENOSPC) needs for the next
 * WAL append, and the next attempt uses another LSN, so nothing would ever overwrite it.
 */
export async function writeSnapshotFile(dir: string, lsn: number, pieces: readonly Uint8Array[]) {
  const temp = join(dir, snapshotTempFileName(lsn));
  try {
    await writeDurableTemp(temp, lsn, pieces);
    await rename(temp, join(dir, snapshotFileName(lsn)));
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
  await fsyncDir(dir);
}

/**
 * Writes the pieces one after another behind the header, each piece's CRC taken just before its
 * write: the work is spread over the writes instead of done in one go, and the header, which
 * needs the whole payload's CRC, goes in last.
 */
async function writeDurableTemp(temp: string, lsn: number, pieces: readonly Uint8Array[]) {
  const fd = await openFd(temp, 'w');
  try {
    let position = SNAPSHOT_HEADER_BYTES;
    let payloadCrc = 0;
    for (const piece of pieces) {
      payloadCrc = crc32(piece, payloadCrc);
      await pwriteAll(fd, piece, piece.length, position);
      position += piece.length;
    }
    const header = encodeSnapshotHeader(lsn, position - SNAPSHOT_HEADER_BYTES, payloadCrc);
    await pwriteAll(fd, header, header.length, 0);
    // fsync, not fdatasync: the rename must never expose a file whose size isn't durable.
    await fsyncFd(fd);
  } catch (error) {
    // The write's error is the one worth reporting; a close failing after it would only hide it.
    await closeFd(fd).catch(() => undefined);
    throw error;
  }
  await closeFd(fd);
}

/** Best effort: the caller is already reporting the failure that matters. */
async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/**
 * The newest snapshot that validates, newest first. Each corrupt one is reported, never skipped
 * silently; the caller then checks that the log still covers what the fallback needs.
 */
export async function loadNewestSnapshot(
  snapshots: readonly LsnFile[],
  logger: WalLogger,
): Promise<WalSnapshot | null> {
  for (let i = snapshots.length - 1; i >= 0; i--) {
    const file = snapshots[i]!;
    const problem = await readSnapshot(file);
    if (!('reason' in problem)) return problem;
    logger.warn(
      { file: file.path, offset: problem.offset, reason: problem.reason },
      'WAL snapshot is corrupt; falling back to an older snapshot or to the full log',
    );
  }
  return null;
}

type ReadResult = WalSnapshot | { readonly offset: number; readonly reason: string };

async function readSnapshot(file: LsnFile): Promise<ReadResult> {
  const { size } = await stat(file.path);
  if (size > SNAPSHOT_HEADER_BYTES + SNAPSHOT_BYTES_MAX) {
    return { offset: 0, reason: `file of ${size} bytes is over the snapshot size limit` };
  }
  const decoded = decodeSnapshot(await readFile(file.path));
  if (!decoded.ok) return decoded;
  if (decoded.lsn !== file.lsn) {
    return { offset: 0, reason: `header LSN ${decoded.lsn} does not match the file name` };
  }
  return { lsn: decoded.lsn, payload: decoded.payload };
}

/** Temp files are snapshots a crash interrupted before their rename: never valid, never read. */
export async function removeSnapshotTemps(temps: readonly string[], logger: WalLogger) {
  for (const temp of temps) {
    await unlink(temp);
    logger.info({ file: temp }, 'WAL removed an unfinished snapshot temp file');
  }
}
