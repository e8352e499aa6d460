import assert from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import { type EngineState, type Event, evolve, initialState } from '../engine/core/index.js';
import { encodeEvent } from '../engine/shell/event-codec.js';
import { encodeRecord } from '../engine/shell/sale-log.js';
import { type SaleLogRecord, SaleReplica } from '../engine/shell/sale-replica.js';
import { T0 } from './helpers/core.js';

// SaleReplica's fencing: a fence raises the epoch, and an events record of an older epoch than the
// newest fence read is a deposed writer's, never applied. The examples name each rule once; the
// property runs random interleavings of several writers' fences and batches (with the gaps in
// sequence numbers another sale's records leave in the shared stream, records read twice, and
// each record naming the sequence its writer expected: the one before it, or an older one for a
// deposed writer whose stale expectation got through, nats-server #4320) and checks the replica
// against a reader written here from the rule alone.

const SALE_ID = 'drop';
const EPOCH_MAX = 5;
const RECORDS_MAX = 40;
const ORDERS_PER_RECORD_MAX = 3;
/** Stream sequence numbers a record may skip: other sales' records share the stream. */
const SEQUENCE_GAP_MAX = 3;
/** How far back a deposed writer's expectation may be. */
const STALE_RECORDS_MAX = 3;

/** One record of the log as a writer meant it: its events, before encoding. */
interface Written {
  readonly seq: number;
  readonly epoch: number;
  readonly kind: 'events' | 'fence';
  readonly events: readonly Event[];
  /** The sequence its writer expected before it (its message id says so). */
  readonly expected: number;
}

/** A batch of writer `epoch`: the sale configured (named after the batch), then its orders. */
function batchOf(epoch: number, batch: number, orders: number): Event[] {
  const tag = `e${epoch}-b${batch}`;
  const configured: Event = {
    type: 'SaleConfigured',
    saleId: SALE_ID,
    name: tag,
    stock: 1_000,
    perCustomerLimit: 1_000,
    startsAt: null,
    endsAt: null,
    at: T0 + batch,
  };
  const placed = Array.from(
    { length: orders },
    (_, index): Event => ({
      type: 'OrderPlaced',
      orderId: `${SALE_ID}~${tag}-${index}`,
      saleId: SALE_ID,
      customerId: `writer-${epoch}`,
      quantity: 1,
      idempotencyKey: `${tag}-${index}`,
      requestHash: 'q=1',
      at: T0 + batch,
    }),
  );
  return [configured, ...placed];
}

const recordOf = (written: Written): SaleLogRecord => ({
  seq: written.seq,
  epoch: written.epoch,
  kind: written.kind,
  expected: written.expected,
  data:
    written.kind === 'fence' ? new Uint8Array(0) : encodeRecord(written.events.map(encodeEvent)),
});

/** The reader the rule describes: the records it accepts, in log order. */
function accepted(log: readonly Written[]): Written[] {
  let newestFence = 0;
  const kept: Written[] = [];
  for (const written of log) {
    if (written.kind === 'fence') newestFence = Math.max(newestFence, written.epoch);
    else if (written.epoch >= newestFence) kept.push(written);
  }
  return kept;
}

function stateOf(records: readonly Written[]): EngineState {
  const state = initialState();
  for (const record of records) for (const event of record.events) evolve(state, event);
  return state;
}

/** Builds a log from (kind, epoch) steps: sequences in order, each events record a new batch. */
interface Step {
  readonly kind: 'events' | 'fence';
  readonly epoch: number;
  readonly gap?: number;
  readonly orders?: number;
  /** How many records back its writer's expectation is: 0 for an honest append. */
  readonly stale?: number;
}

function logOf(steps: readonly Step[]) {
  const sequences = [0];
  return steps.map((step, batch): Written => {
    const previous = sequences.at(-1) ?? 0;
    const seq = previous + (step.gap ?? 1);
    const expected = sequences.at(-1 - Math.min(step.stale ?? 0, sequences.length - 1)) ?? 0;
    sequences.push(seq);
    const events = step.kind === 'fence' ? [] : batchOf(step.epoch, batch, step.orders ?? 1);
    return { seq, epoch: step.epoch, kind: step.kind, events, expected };
  });
}

function replay(log: readonly Written[]): SaleReplica {
  const replica = new SaleReplica(SALE_ID);
  for (const written of log) replica.apply(recordOf(written));
  return replica;
}

const customersOf = (replica: SaleReplica) =>
  replica.sale?.orders.map((order) => order.customerId) ?? [];

t.test("an owner's batches are applied in order after its fence", async (t) => {
  const replica = replay(
    logOf([
      { kind: 'fence', epoch: 3 },
      { kind: 'events', epoch: 3, orders: 2 },
      { kind: 'events', epoch: 3, orders: 1 },
    ]),
  );
  t.equal(replica.epoch, 3);
  t.equal(replica.lastSequence, 3);
  t.equal(replica.fenced, 0);
  t.same(
    replica.sale?.orders.map((order) => order.idempotencyKey),
    ['e3-b1-0', 'e3-b1-1', 'e3-b2-0'],
  );
  t.equal(replica.sale?.settings.name, 'e3-b2', 'the last configuration counts');
  t.equal(replica.sale?.sold, 3);
});

t.test("a deposed writer's batch after the new owner's fence is ignored and counted", async (t) => {
  // nats-server #4320: the old owner's append, expecting the sequence the fence also expected,
  // was stored after the fence. Its epoch gives it away.
  const replica = replay(
    logOf([
      { kind: 'fence', epoch: 3 },
      { kind: 'events', epoch: 3 },
      { kind: 'fence', epoch: 8 },
      { kind: 'events', epoch: 3, orders: 2 },
      { kind: 'events', epoch: 8 },
    ]),
  );
  t.equal(replica.epoch, 8);
  t.equal(replica.fenced, 1);
  t.equal(replica.lastSequence, 5, 'the ignored record is read past all the same');
  t.same(customersOf(replica), ['writer-3', 'writer-8']);
  t.equal(replica.sale?.settings.name, 'e8-b4');
});

t.test("the old owner's batches before the new fence stay: they were its term", async (t) => {
  const replica = replay(
    logOf([
      { kind: 'fence', epoch: 3 },
      { kind: 'events', epoch: 3 },
      { kind: 'events', epoch: 3 },
      { kind: 'fence', epoch: 8 },
    ]),
  );
  t.same(customersOf(replica), ['writer-3', 'writer-3']);
  t.equal(replica.fenced, 0);
});

t.test('a fence of an older epoch does not lower the epoch', async (t) => {
  const replica = replay(
    logOf([
      { kind: 'fence', epoch: 8 },
      { kind: 'fence', epoch: 3 },
      { kind: 'events', epoch: 3 },
      { kind: 'events', epoch: 8 },
    ]),
  );
  t.equal(replica.epoch, 8);
  t.equal(replica.fenced, 1);
  t.same(customersOf(replica), ['writer-8']);
});

t.test('a record read again, or one older than the last read, is skipped', async (t) => {
  const log = logOf([
    { kind: 'fence', epoch: 2 },
    { kind: 'events', epoch: 2, gap: 4 },
    { kind: 'events', epoch: 2 },
  ]);
  const replica = replay(log);
  const before = structuredClone(replica.sale);
  for (const written of log) replica.apply(recordOf(written));
  t.equal(replica.lastSequence, 6);
  assert.deepStrictEqual(replica.sale, before);
  t.equal(replica.sale?.orders.length, 2);
});

t.test('no sale before its first configuration', async (t) => {
  const replica = replay(logOf([{ kind: 'fence', epoch: 1 }]));
  t.equal(replica.sale, undefined);
  t.equal(replica.epoch, 1);
});

const stepArb = fc.record({
  kind: fc.constantFrom('events' as const, 'events' as const, 'fence' as const),
  epoch: fc.integer({ min: 1, max: EPOCH_MAX }),
  gap: fc.integer({ min: 1, max: SEQUENCE_GAP_MAX }),
  orders: fc.integer({ min: 0, max: ORDERS_PER_RECORD_MAX }),
  stale: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: STALE_RECORDS_MAX })),
  /** Read an earlier record again after this one, as a redelivery would (index into the log). */
  reread: fc.option(fc.nat(), { nil: null }),
});

t.test('any interleaving: the state of exactly the records a correct reader accepts', async (t) => {
  let runs = 0;
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 1, maxLength: RECORDS_MAX }), (steps) => {
      runs += 1;
      const log = logOf(steps);
      const replica = new SaleReplica(SALE_ID);
      let newestFence = 0;
      log.forEach((written, index) => {
        const before = structuredClone(replica.sale);
        const fencedBefore = replica.fenced;
        replica.apply(recordOf(written));
        if (written.kind === 'fence') newestFence = Math.max(newestFence, written.epoch);
        else if (written.epoch < newestFence) {
          // A stale writer's batch after a newer fence: nothing changes but the count.
          assert.deepStrictEqual(replica.sale, before);
          assert.equal(replica.fenced, fencedBefore + 1);
        }
        assert.equal(replica.epoch, newestFence);
        assert.equal(replica.lastSequence, written.seq);
        const reread = steps[index]?.reread;
        if (reread !== null && reread !== undefined) {
          const again = log[reread % (index + 1)];
          const settled = structuredClone(replica.sale);
          if (again !== undefined) replica.apply(recordOf(again));
          assert.deepStrictEqual(replica.sale, settled, 'a record read again changes nothing');
        }
      });
      const expected = accepted(log);
      assert.deepStrictEqual(replica.sale, stateOf(expected).sales.get(SALE_ID));
      assert.equal(replica.fenced, log.filter((w) => w.kind === 'events').length - expected.length);
    }),
    { numRuns: 300 },
  );
  t.equal(runs, 300);
});
