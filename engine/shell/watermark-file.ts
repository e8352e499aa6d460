import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { jsonObjectIn } from './json-object.js';

// The outbox's durable watermark: every outbox message with lsn <= it was acknowledged by
// JetStream. Written atomically (temp, fsync, rename). A stale value only means re-publishing,
// which JetStream de-duplicates by Nats-Msg-Id; a lost or garbled file means re-publishing
// everything, which is loud (a warning) but never loses an order.

const FILE_NAME = 'outbox-watermark.json';

export interface WatermarkLogger {
  warn(obj: object, msg: string): void;
}

export class WatermarkFile {
  private readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, FILE_NAME);
  }

  /** The stored watermark; 0 (re-publish the whole log) when the file is missing or damaged. */
  async read(logger: WatermarkLogger): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    const lsn = lsnIn(text);
    if (lsn !== null) return lsn;
    logger.warn({ file: this.path }, 'outbox watermark unreadable; re-publishing the whole log');
    return 0;
  }

  async write(lsn: number): Promise<void> {
    const temp = `${this.path}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify({ lsn }));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
  }
}

/** The watermark a file's text holds, or null when it is empty, cut off or not ours. */
function lsnIn(text: string): number | null {
  const lsn = jsonObjectIn(text)?.lsn;
  return typeof lsn === 'number' && Number.isSafeInteger(lsn) && lsn >= 0 ? lsn : null;
}
