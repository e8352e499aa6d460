// Promise wrappers over the callback fs API for the append path: measurably cheaper per call than
// FileHandle, and the append path does little else than write + fdatasync.
import { close, fdatasync, fstat, fsync, open, read, write } from 'node:fs';

export function openFd(path: string, flags: string | number): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, flags, 0o644, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    close(fd, (error) => (error ? reject(error) : resolve()));
  });
}

export function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

function pwrite(fd: number, buffer: Uint8Array, offset: number, length: number, position: number) {
  return new Promise<number>((resolve, reject) => {
    write(fd, buffer, offset, length, position, (error, written) =>
      error ? reject(error) : resolve(written),
    );
  });
}

/** Writes `buffer[0, length)` at `position`, looping over short writes (legal, if rare). */
export async function pwriteAll(
  fd: number,
  buffer: Uint8Array,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const written = await pwrite(fd, buffer, done, length - done, position + done);
    if (written <= 0) throw new Error(`write returned ${written} at position ${position + done}`);
    done += written;
  }
}

/** Makes a create, rename or unlink in `dir` durable: the entry lives in the directory's data. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/**
 * The two calls the append path makes, in one mutable object: the seam through which tests inject
 * the I/O errors a healthy disk never returns. Nothing else may replace them.
 */
export const appendIo = { pwriteAll, fdatasyncFd };

/** A whole file in one buffer, with as few read calls as the kernel allows (usually one). */
export async function readWholeFile(path: string): Promise<Buffer> {
  const fd = await openFd(path, 'r');
  try {
    const size = await new Promise<number>((resolve, reject) => {
      fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size)));
    });
    const buffer = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const got = await new Promise<number>((resolve, reject) => {
        read(fd, buffer, done, size - done, done, (error, n) =>
          error ? reject(error) : resolve(n),
        );
      });
      if (got === 0) break; // shrank while we read: return what is there
      done += got;
    }
    return done === size ? buffer : buffer.subarray(0, done);
  } finally {
    await closeFd(fd);
  }
}
