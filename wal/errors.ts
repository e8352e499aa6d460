// Errors a caller may need to tell apart. Everything else (bad arguments, I/O) is a plain Error
// with a message that names the directory or file, and the original error as `cause`.

/** Damage that recovery refuses to repair: the operator must look (DESIGN.md I7). */
export class WalCorruptError extends Error {
  override readonly name = 'WalCorruptError';
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super(`WAL corrupt: ${file} at offset ${offset}: ${reason}`);
    this.file = file;
    this.offset = offset;
  }
}

/** Another live process holds the directory (or a process on another host may). */
export class WalLockedError extends Error {
  override readonly name = 'WalLockedError';
  readonly pid: number;

  constructor(pid: number, message: string) {
    super(message);
    this.pid = pid;
  }
}

/** A write or fsync failed: the log refuses all further appends; the process must recover. */
export class WalFailedError extends Error {
  override readonly name = 'WalFailedError';
}
