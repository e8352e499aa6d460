import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EngineState,
  initialState,
  orderCount,
  SnapshotCursor,
} from '../engine/core/index.js';
import { decodeEvent, encodeEvent } from '../engine/shell/event-codec.js';
import { encodeSnapshot, type Recovered, recoverState } from '../engine/shell/recovery.js';

/** The engine's default SNAPSHOT_STEP_ORDERS. */
const SNAPSHOT_STEP_ORDERS = 5_000;

import { BATCH_RECORDS_MAX, openWal, type WalLogger, type WriteAheadLog } from '../wal/index.js';
import { configureBenchSale, customerId, orderCommands, placeAll } from './core.js';
import type { BenchRow } from './table.js';

// Recovery through the engine's own start-up path: openWal, then recoverState (decodeEvent, evolve,
// outbox rebuild). Once from a log of a million orders, once from a snapshot and a short tail.

const LOG_ORDERS = 1_000_000;
/** Orders after each snapshot: a snapshot every 100k records leaves a tail of this order. */
const TAIL_ORDERS = 10_000;
const BYTES_PER_MIB = 1024 * 1024;

const logger: WalLogger = {
  info() {},
  warn: (fields, message) => console.error(message, fields),
  error: (fields, message) => console.error(message, fields),
};

const secondsSince = (start: number): number => (performance.now() - start) / 1000;

/** Appends as the actor does, one event per record; every batch is in flight at once. */
async function appendAll(wal: WriteAheadLog, payloads: readonly Buffer[]): Promise<void> {
  const pending: Promise<number>[] = [];
  for (let i = 0; i < payloads.length; i += BATCH_RECORDS_MAX)
    pending.push(wal.append(payloads.slice(i, i + BATCH_RECORDS_MAX)));
  await Promise.all(pending);
}

/** Orders from customers never seen before, numbered from `firstCustomer`. */
function newOrders(state: EngineState, count: number, firstCustomer: number): Buffer[] {
  const commands = orderCommands(count, (i) => customerId(firstCustomer + i));
  return placeAll(state, commands).map(encodeEvent);
}

interface OrderLog {
  readonly lastLsn: number;
  readonly logBytes: number;
  /** The decode floor: decodeEvent over the same payloads, already in memory. */
  readonly decodeSeconds: number;
}

async function writeOrderLog(dir: string): Promise<OrderLog> {
  const state = initialState();
  const sale = placeAll(state, [configureBenchSale()]).map(encodeEvent);
  const payloads = sale.concat(newOrders(state, LOG_ORDERS, 0));
  const { wal } = await openWal({ dir, logger });
  await appendAll(wal, payloads);
  const lastLsn = wal.lastLsn;
  await wal.close();
  let orders = 0;
  const start = performance.now();
  for (let i = 0; i < payloads.length; i++)
    if (decodeEvent(payloads[i]!, i + 1).type === 'OrderPlaced') orders++;
  const decodeSeconds = secondsSince(start);
  if (orders !== LOG_ORDERS) throw new Error(`bench bug: decoded ${orders} orders`);
  const logBytes = payloads.reduce((sum, payload) => sum + payload.length, 0);
  return { lastLsn, logBytes, decodeSeconds };
}

interface Timed<T> {
  readonly seconds: number;
  /** The part of `seconds` spent in openWal (reading and checking files) before recoverState. */
  readonly openSeconds: number;
  readonly records: number;
  readonly result: T;
}

/** Times openWal + recoverState, checks what came back, lets `then` use the log, closes it. */
async function timedRecovery<T>(
  dir: string,
  watermark: number,
  expected: { orders: number; outbox: number },
  then: (wal: WriteAheadLog, recovered: Recovered) => Promise<T>,
): Promise<Timed<T>> {
  const start = performance.now();
  const { wal, snapshot, records } = await openWal({ dir, logger });
  const openSeconds = secondsSince(start);
  const recovered = recoverState(snapshot, records, watermark);
  const seconds = secondsSince(start);
  try {
    const { state, outbox } = recovered;
    if (orderCount(state) !== expected.orders || outbox.length !== expected.outbox)
      throw new Error(`recovered ${orderCount(state)} orders, ${outbox.length} outbox messages`);
    const result = await then(wal, recovered);
    return { seconds, openSeconds, records: recovered.records, result };
  } finally {
    await wal.close();
  }
}

interface SnapshotFacts {
  readonly lsn: number;
  readonly bytes: number;
  readonly orders: number;
  readonly encodeSeconds: number;
  /** The parse floor: JSON.parse of the snapshot's text alone. */
  readonly parseSeconds: number;
}

/**
 * Two snapshots, each followed by a tail of orders: the second snapshot prunes the segments the
 * first one covers, which is the steady state of an engine that snapshots every 100k records.
 */
async function snapshotWithTail(wal: WriteAheadLog, state: EngineState): Promise<SnapshotFacts> {
  const start = performance.now();
  const first = await encodeSnapshot(new SnapshotCursor(state), [], SNAPSHOT_STEP_ORDERS, none);
  const encodeSeconds = secondsSince(start);
  await wal.writeSnapshot(wal.lastLsn, first);
  await appendAll(wal, newOrders(state, TAIL_ORDERS, LOG_ORDERS));
  const payload = await encodeSnapshot(new SnapshotCursor(state), [], SNAPSHOT_STEP_ORDERS, none);
  const lsn = wal.lastLsn;
  await wal.writeSnapshot(lsn, payload);
  const orders = orderCount(state);
  await appendAll(wal, newOrders(state, TAIL_ORDERS, LOG_ORDERS + TAIL_ORDERS));
  // The pieces read as one document once stored end to end, as the WAL does.
  const stored = Buffer.concat(payload);
  const parseStart = performance.now();
  JSON.parse(stored.toString());
  const parseSeconds = secondsSince(parseStart);
  return { lsn, bytes: stored.length, orders, encodeSeconds, parseSeconds };
}

const none = async (): Promise<void> => undefined;
const mib = (bytes: number): string => `${(bytes / BYTES_PER_MIB).toFixed(0)} MiB`;
const split = (timed: Timed<unknown>): string =>
  `openWal ${timed.openSeconds.toFixed(2)} s of ${timed.seconds.toFixed(2)} s`;

export async function recoveryBenchRows(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-engine-recovery-'));
  try {
    const log = await writeOrderLog(dir);
    const all = { orders: LOG_ORDERS, outbox: LOG_ORDERS };
    const full = await timedRecovery(dir, 0, all, none);
    const caughtUp = await timedRecovery(dir, log.lastLsn, { ...all, outbox: 0 }, (wal, r) =>
      snapshotWithTail(wal, r.state),
    );
    const snap = caughtUp.result;
    const tail = { orders: snap.orders + TAIL_ORDERS, outbox: TAIL_ORDERS };
    const fromSnapshot = await timedRecovery(dir, snap.lsn, tail, none);
    return rowsOf(log, full, caughtUp, fromSnapshot);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function rowsOf(
  log: OrderLog,
  full: Timed<void>,
  caughtUp: Timed<SnapshotFacts>,
  fromSnapshot: Timed<void>,
): BenchRow[] {
  const decodeRate = log.lastLsn / log.decodeSeconds;
  const baseline = 'decodeEvent alone, same payloads in memory';
  const snap = caughtUp.result;
  const orders = `${LOG_ORDERS.toLocaleString('en-US')} OrderPlaced, ${mib(log.logBytes)} of payloads`;
  return [
    { name: 'baseline: decodeEvent (JSON.parse) only', value: decodeRate, unit: 'events/s' },
    {
      name: 'replay: openWal+recoverState, watermark 0',
      value: full.records / full.seconds,
      unit: 'events/s',
      baseline,
      ratio: full.records / full.seconds / decodeRate,
      note: `${orders}; every order rebuilt into the outbox; ${split(full)}`,
    },
    {
      name: 'replay: openWal+recoverState, caught up',
      value: caughtUp.records / caughtUp.seconds,
      unit: 'events/s',
      baseline,
      ratio: caughtUp.records / caughtUp.seconds / decodeRate,
      note: `same log, watermark = last LSN (outbox empty); ${split(caughtUp)}`,
    },
    {
      name: 'snapshot: encodeSnapshot',
      value: snap.encodeSeconds * 1000,
      unit: 'ms',
      note: `${LOG_ORDERS.toLocaleString('en-US')} orders, all steps back to back; the actor runs between steps of ${SNAPSHOT_STEP_ORDERS.toLocaleString('en-US')} orders`,
    },
    {
      name: 'snapshot size',
      value: snap.bytes / BYTES_PER_MIB,
      unit: 'MiB',
      note: `${snap.orders.toLocaleString('en-US')} orders, JSON`,
    },
    {
      name: `recover: snapshot + ${TAIL_ORDERS.toLocaleString('en-US')}-event tail`,
      value: fromSnapshot.seconds,
      unit: 's',
      baseline: 'JSON.parse of the snapshot alone',
      ratio: fromSnapshot.seconds / snap.parseSeconds,
      note: `${(snap.orders + TAIL_ORDERS).toLocaleString('en-US')} orders recovered, covered segments pruned; ${split(fromSnapshot)}; target < 2 s`,
    },
  ];
}
