import { existsSync } from 'node:fs';
import { lstat, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import t from 'tap';
import {
  type BatchReply,
  decodeReply,
  encodeMessage,
  type PlaceOrderRequest,
  saleCommandSubject,
} from '../engine/protocol/index.js';
import { EngineClient, REQUEST_TIMEOUT_MS } from '../scripts/client/engine-client.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// A snapshot that fails (here: the disk is full) is counted like a written one: the next attempt
// waits for another SNAPSHOT_EVERY_RECORDS records rather than following the very next batch,
// which would serialise the whole state again after every batch while the cause lasts. Its temp
// file goes, so a full disk gets its space back for the WAL.

/** A device whose every write fails with ENOSPC: a full disk, without filling one. */
const FULL_DISK = '/dev/full';
/** The smallest the engine accepts; each record below is one event (one LSN). */
const SNAPSHOT_EVERY_RECORDS = 100;
/** ConfigureSale is LSN 1; a batch of this many new orders brings the log to a multiple of 100. */
const ORDERS_TO_SNAPSHOT = SNAPSHOT_EVERY_RECORDS - 1;
const FAILED_SNAPSHOT_LSN = SNAPSHOT_EVERY_RECORDS;
const NEXT_SNAPSHOT_LSN = 2 * SNAPSHOT_EVERY_RECORDS;

const snapshotTempName = (lsn: number): string => `snap-${String(lsn).padStart(20, '0')}.snap.tmp`;

/** `count` new orders from customers never seen before, each one an OrderPlaced event. */
function newOrders(prefix: string, count: number): PlaceOrderRequest[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'PlaceOrder',
    customerId: `${prefix}${i}`,
    quantity: 1,
  }));
}

/** Places the orders as one batch: one group commit, so the log moves by `orders.length`. */
async function placeAll(nc: NatsConnection, saleId: string, orders: PlaceOrderRequest[]) {
  const msg = await nc.request(
    saleCommandSubject(saleId),
    encodeMessage({ type: 'PlaceOrders', orders }),
    { timeout: REQUEST_TIMEOUT_MS },
  );
  const reply = decodeReply<BatchReply>(msg.data);
  if (!reply.ok || !reply.replies.every((r) => r.ok))
    throw new Error(`orders not all accepted: ${JSON.stringify(reply)}`);
}

t.test(
  'a failed snapshot waits a full interval before the next attempt, and leaves no temp file',
  { skip: existsSync(FULL_DISK) ? false : `${FULL_DISK} is needed to fake a full disk` },
  async (t) => {
    const nats = await startNats(t);
    const nc = await natsClient(t, nats.url);
    const walDir = await tempDir(t, 'wal');
    const engine = await startEngine(t, {
      natsUrl: nats.url,
      walDir,
      sales: ['snap'],
      env: { SNAPSHOT_EVERY_RECORDS: String(SNAPSHOT_EVERY_RECORDS) },
    });
    const client = new EngineClient(nc);
    // The first snapshot's temp file leads to the full device: its writes fail with ENOSPC.
    const failingTemp = join(walDir, snapshotTempName(FAILED_SNAPSHOT_LSN));
    await symlink(FULL_DISK, failingTemp);

    t.ok((await client.configureSale('snap', { stock: 1_000, perCustomerLimit: 1 })).ok);
    await placeAll(nc, 'snap', newOrders('a', ORDERS_TO_SNAPSHOT));
    const failed = await engine.waitForLog((line) => line.msg.startsWith('snapshot failed'));
    t.match(
      failed.err,
      { lsn: FAILED_SNAPSHOT_LSN, nextAttemptLsn: NEXT_SNAPSHOT_LSN, message: /ENOSPC/ },
      'the failure is logged with its cause and the next attempt',
    );
    await t.rejects(lstat(failingTemp), { code: 'ENOENT' }, 'its temp file was removed');

    // The very next batch must not start another snapshot; the one a full interval later does.
    await placeAll(nc, 'snap', newOrders('b', 1));
    await placeAll(nc, 'snap', newOrders('c', ORDERS_TO_SNAPSHOT));
    const written = await engine.waitForLog((line) => line.msg === 'snapshot written');
    t.equal(written.lsn, NEXT_SNAPSHOT_LSN, 'the next snapshot came a full interval later');
    t.equal(
      engine.logs.filter((line) => line.msg.startsWith('snapshot failed')).length,
      1,
      'one failure, one log line',
    );
    const snapshotFiles = (await readdir(walDir)).filter((name) => name.startsWith('snap-'));
    t.same(snapshotFiles, [`snap-${String(NEXT_SNAPSHOT_LSN).padStart(20, '0')}.snap`]);
  },
);
