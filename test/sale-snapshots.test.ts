import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import t from 'tap';
import type { Event } from '../engine/core/index.js';
import { encodeEvent } from '../engine/shell/event-codec.js';
import {
  appendRecord,
  encodeRecord,
  ensureSaleLogStream,
  SALE_LOG_STREAM,
  saleLogSubject,
} from '../engine/shell/sale-log.js';
import { SaleLogFollower } from '../engine/shell/sale-log-follower.js';
import { SaleLogGapError, SaleReplica } from '../engine/shell/sale-replica.js';
import { SaleSnapshots } from '../engine/shell/sale-snapshots.js';
import { T0 } from './helpers/core.js';
import { natsClient, startNats } from './helpers/nats.js';

// Snapshots of a sale's replicated log, on a real nats-server: a standby's replica stored in the
// object store, the sale's head moved to it, the log trimmed below it; a follower started later
// begins from the snapshot and ends with the same state as one that read the whole log; an older
// snapshot never replaces a newer one; a reader that finds records missing says so.

const SALE = 'snap';
const EPOCH = 1;
const RECORDS_BEFORE = 30;
const RECORDS_AFTER = 10;
const logger = pino({ level: 'silent' });

const server = await startNats(t);
const nc = await natsClient(t, server.url);
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
await ensureSaleLogStream(jsm, 1, logger);
const snapshots = await SaleSnapshots.open(nc, jsm, 1);

const configured: Event = {
  type: 'SaleConfigured',
  saleId: SALE,
  name: SALE,
  stock: 1_000,
  perCustomerLimit: 2,
  startsAt: null,
  endsAt: null,
  at: T0,
};
const placed = (n: number): Event => ({
  type: 'OrderPlaced',
  orderId: `${SALE}~${n}`,
  saleId: SALE,
  customerId: `c${n}`,
  quantity: 1,
  idempotencyKey: null,
  requestHash: null,
  at: T0 + n,
});

let last = 0;
let orders = 0;

async function record(kind: 'fence' | 'events', events: readonly Event[]): Promise<void> {
  const data = kind === 'fence' ? new Uint8Array(0) : encodeRecord(events.map(encodeEvent));
  const target = { saleId: SALE, epoch: EPOCH, expectedSequence: last, kind };
  last = await appendRecord(js, target, data, () => true);
}

/** Appends as an owner does: its fence and the sale first, then one order per record. */
async function append(count: number): Promise<void> {
  if (last === 0) {
    await record('fence', []);
    await record('events', [configured]);
  }
  for (let i = 0; i < count; i += 1) await record('events', [placed(++orders)]);
}

async function subjectMessages(): Promise<number> {
  const info = await jsm.streams.info(SALE_LOG_STREAM, { subjects_filter: saleLogSubject(SALE) });
  return info.state.subjects?.[saleLogSubject(SALE)] ?? 0;
}

t.test('a snapshot trims the log, and a later follower starts from it', async (t) => {
  await append(RECORDS_BEFORE);
  const standby = await SaleLogFollower.start(js, SALE, logger, snapshots);
  await standby.caughtUp(last);
  t.equal(await snapshots.write(standby.replica), true, 'written');
  t.same(await snapshots.head(SALE), { sequence: last, epoch: EPOCH, name: `${SALE}.${last}` });
  t.equal(await subjectMessages(), 1, 'the log keeps only the record the snapshot ends with');

  await append(RECORDS_AFTER);
  const late = await SaleLogFollower.start(js, SALE, logger, snapshots);
  await Promise.all([standby.caughtUp(last), late.caughtUp(last)]);
  t.equal(late.replica.sale?.orders.length, orders, 'every order, through the snapshot');
  t.same(late.replica.sale, standby.replica.sale, 'the same state as the whole log gave');
  t.equal(late.replica.epoch, EPOCH, "the snapshot's epoch carried on");
  standby.stop();
  late.stop();
});

t.test('an older snapshot does not replace a newer one', async (t) => {
  const head = (await snapshots.head(SALE))!;
  const stale = new SaleReplica(SALE, undefined, head.sequence - 1, EPOCH);
  t.equal(await snapshots.write(stale), false, 'refused');
  t.same(await snapshots.head(SALE), head, 'the head stays');
});

t.test('a reader that finds records missing stops, and a new one recovers', async (t) => {
  const replica = new SaleReplica(SALE);
  const gap = { seq: 9, epoch: EPOCH, kind: 'events', data: new Uint8Array(0), expected: 7 };
  t.throws(() => replica.apply({ ...gap, kind: 'events' }), SaleLogGapError);
  // From the log's start, ignoring the snapshot: the first record it finds follows a trimmed one.
  const blind = await SaleLogFollower.start(js, SALE, logger, null);
  await t.rejects(blind.caughtUp(last), 'its catch-up fails instead of waiting');
  t.ok(blind.broken, 'it says it is broken');
  const fresh = await SaleLogFollower.start(js, SALE, logger, snapshots);
  await fresh.caughtUp(last);
  t.equal(fresh.replica.sale?.orders.length, orders);
  fresh.stop();
});
