// Creating a segment: the file, its header and its directory entry are all durable before any
// record goes into it, so recovery never meets a segment whose existence was lost.
import { join } from 'node:path';
import { segmentFileName } from './file-names.js';
import { closeFd, fdatasyncFd, fsyncDir, openFd, pwriteAll } from './fs-async.js';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES } from './segment-format.js';

export interface OpenSegment {
  readonly fd: number;
  readonly path: string;
  readonly firstLsn: number;
}

export async function createSegment(dir: string, firstLsn: number): Promise<OpenSegment> {
  const path = join(dir, segmentFileName(firstLsn));
  // O_EXCL: a segment with this first LSN must not exist; if it does, our state is wrong.
  const fd = await openFd(path, 'wx');
  try {
    const header = encodeSegmentHeader(firstLsn);
    await pwriteAll(fd, header, SEGMENT_HEADER_BYTES, 0);
    await fdatasyncFd(fd);
    await fsyncDir(dir);
  } catch (error) {
    await closeFd(fd).catch(() => undefined);
    throw error;
  }
  return { fd, path, firstLsn };
}
