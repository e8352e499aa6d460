// The WAL's hot paths: durable appends under group commit, and replay at open. The baseline is what
// durability costs without batching: one ~150-byte write + fdatasync per record, on the same disk.
import { close, fdatasync, open, write } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openWal, type WalLogger, type WriteAheadLog } from '../wal/index.js';
import { type BenchRow, printTable } from './table.js';

const RECORD_BYTES = 150;
const DURATION_MS = 3000;
const APPENDER_COUNTS = [1, 64, 1024];
const REPLAY_RECORDS = 1_000_000;
/** Records per append call while building the replay log: fast to write, many batches. */
const REPLAY_BUILD_CALL_RECORDS = 1000;

const silent: WalLogger = { info() {}, warn() {}, error() {} };
const payload = Buffer.alloc(RECORD_BYTES, 0x61);

const fsCall = <T>(run: (done: (error: Error | null, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) =>
    run((error, value) => (error ? reject(error) : resolve(value as T))),
  );

async function rawWriteSyncPerRecord(dir: string): Promise<number> {
  const fd = await fsCall<number>((done) => open(join(dir, 'raw.log'), 'w', done));
  let records = 0;
  let position = 0;
  const started = performance.now();
  while (performance.now() - started < DURATION_MS) {
    await fsCall<number>((done) => write(fd, payload, 0, payload.length, position, done));
    await fsCall<void>((done) => fdatasync(fd, done));
    position += payload.length;
    records++;
  }
  const seconds = (performance.now() - started) / 1000;
  await fsCall<void>((done) => close(fd, done));
  return records / seconds;
}

async function groupCommit(dir: string, appenders: number) {
  const { wal } = await openWal({ dir, logger: silent });
  let stop = false;
  const loop = async () => {
    while (!stop) await wal.append([payload]);
  };
  const started = performance.now();
  const running = Array.from({ length: appenders }, loop);
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
  stop = true;
  await Promise.all(running);
  const seconds = (performance.now() - started) / 1000;
  const { records, flushes } = wal.stats;
  await wal.close();
  return { perSecond: records / seconds, recordsPerFlush: records / flushes };
}

async function buildLog(wal: WriteAheadLog, records: number): Promise<void> {
  const call = Array.from({ length: REPLAY_BUILD_CALL_RECORDS }, () => payload);
  const pending: Promise<number>[] = [];
  for (let written = 0; written < records; written += call.length) pending.push(wal.append(call));
  await Promise.all(pending);
}

async function replay(dir: string): Promise<number> {
  const built = await openWal({ dir, logger: silent });
  await buildLog(built.wal, REPLAY_RECORDS);
  await built.wal.close();
  const started = performance.now();
  const { wal, records } = await openWal({ dir, logger: silent });
  let count = 0;
  let bytes = 0;
  for (const record of records) {
    count++;
    bytes += record.payload.length;
  }
  const seconds = (performance.now() - started) / 1000;
  await wal.close();
  if (count !== REPLAY_RECORDS || bytes !== REPLAY_RECORDS * RECORD_BYTES) {
    throw new Error(`replay saw ${count} records, ${bytes} bytes`);
  }
  return count / seconds;
}

async function inTempDir<T>(name: string, run: (dir: string) => Promise<T>): Promise<T> {
  // WAL_BENCH_DIR picks the disk to measure: where /tmp is a tmpfs, fdatasync there costs nothing.
  const dir = await mkdtemp(join(process.env.WAL_BENCH_DIR ?? tmpdir(), `wal-bench-${name}-`));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function walBenchRows(): Promise<BenchRow[]> {
  const raw = await inTempDir('raw', rawWriteSyncPerRecord);
  const baseline = 'raw write+fdatasync per record';
  const rows: BenchRow[] = [
    { name: baseline, value: raw, unit: 'records/s', note: `${RECORD_BYTES} B records` },
  ];
  for (const appenders of APPENDER_COUNTS) {
    const result = await inTempDir(`gc${appenders}`, (dir) => groupCommit(dir, appenders));
    rows.push({
      name: `durable appends, ${appenders} concurrent appender${appenders === 1 ? '' : 's'}`,
      value: result.perSecond,
      unit: 'records/s',
      baseline,
      ratio: result.perSecond / raw,
      note: `${result.recordsPerFlush.toFixed(1)} records per fdatasync`,
    });
  }
  const replayed = await inTempDir('replay', replay);
  rows.push({
    name: `replay at open, ${REPLAY_RECORDS.toLocaleString('en-US')} records`,
    value: replayed,
    unit: 'records/s',
    note: 'openWal (read + check every CRC) + iterate all records',
  });
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printTable('WAL', await walBenchRows());
}
