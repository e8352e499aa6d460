import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import t from 'tap';
import { present } from '../engine/core/assert.js';
import {
  appendRecord,
  ensureSaleLogStream,
  lastSaleLogSequenceWhile,
  SALE_LOG_READ_TIMEOUT_MS,
} from '../engine/shell/sale-log.js';
import { natsClient, startNats } from './helpers/nats.js';

// A takeover's read of the log's end while SALE_LOG has no leader (a NATS election): the request
// gets no answer at all. A real nats-server stopped with SIGSTOP stands for that here — it
// answers nothing until SIGCONT, as a stream without a leader answers nothing until the election
// ends. The read is tried again, each try SALE_LOG_READ_TIMEOUT_MS long, while the lease is ours,
// and answers with the log's end once the server answers; with the lease gone it gives up.

const SALE = 'election';
const RECORDS = 2;
/** How long the server answers nothing: a few of the read's tries. */
const SILENT_TRIES = 3;
const STOP_POLL_MS = 5;

const server = await startNats(t);
const nc = await natsClient(t, server.url);
const jsm = await jetstreamManager(nc);
await ensureSaleLogStream(jsm, 1, pino({ level: 'silent' }));
const js = jetstream(nc);
for (let sequence = 0; sequence < RECORDS; sequence += 1)
  await appendRecord(
    js,
    { saleId: SALE, epoch: 1, expectedSequence: sequence, kind: 'fence' },
    new Uint8Array(0),
    () => true,
  );
const quickJsm = await jetstreamManager(nc, { timeout: SALE_LOG_READ_TIMEOUT_MS, checkAPI: false });
const serverPid = present(server.pid, 'the nats-server pid');

/** SIGSTOP takes effect as each of the process's threads is next scheduled: wait for all. */
async function stopped(pid: number): Promise<void> {
  // A thread's state is the field after the command's closing parenthesis in its stat file.
  const stateOf = (task: string) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/stat`, 'latin1').split(') ')[1]?.[0];
    } catch {
      return 'T'; // the thread ended meanwhile: it answers nothing either
    }
  };
  while (readdirSync(`/proc/${pid}/task`).some((task) => stateOf(task) !== 'T'))
    await setTimeout(STOP_POLL_MS);
}

/** Holds the server silent while `during` runs (or until `during` lets it answer). */
async function whileSilent<T>(during: () => Promise<T>): Promise<T> {
  process.kill(serverPid, 'SIGSTOP');
  await stopped(serverPid);
  try {
    return await during();
  } finally {
    process.kill(serverPid, 'SIGCONT');
  }
}

t.test('with the lease ours, tried again until the log answers, then its end', async (t) => {
  let tries = 0;
  const sequence = await whileSilent(async () => {
    const read = lastSaleLogSequenceWhile(quickJsm, SALE, () => {
      tries += 1;
      // Silent for SILENT_TRIES tries, then the election is over: the server answers.
      if (tries === SILENT_TRIES) process.kill(serverPid, 'SIGCONT');
      return true;
    });
    return read;
  });
  t.equal(sequence, RECORDS, 'the log ends at its last record');
  t.equal(tries, SILENT_TRIES, `${SILENT_TRIES} short tries timed out, the next one answered`);
});

t.test('with the lease gone, the read gives up after the try it was in', async (t) => {
  let tries = 0;
  await whileSilent(() =>
    t.rejects(
      lastSaleLogSequenceWhile(quickJsm, SALE, () => {
        tries += 1;
        return false;
      }),
      { name: 'TimeoutError' },
      'the timeout of that try',
    ),
  );
  t.equal(tries, 1, 'not tried again');
});
