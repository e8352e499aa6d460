import t from 'tap';
import { evolve, initialState, viewOrder } from '../engine/core/index.js';
import { fromSnapshotData, toSnapshotData } from '../engine/core/snapshot.js';
import type { Event } from '../engine/core/types.js';
import { acceptedOrderId, configure, order, rejectionCode, step, T0 } from './helpers/core.js';

// Where a sale's order sequences start: 1 in its first home, a range of its own in each home it
// is adopted into (sale-homes.ts), so that an adopted sale never gives an orderId twice (I4).

const ADOPTED_FIRST = 1_000_000_000_001;

t.test('a sale created with a first sequence numbers its orders from it', async (t) => {
  const state = initialState();
  const log: Event[] = [];
  step(state, { ...configure('s'), firstOrderSequence: ADOPTED_FIRST }, log);
  t.match(log[0], { type: 'SaleConfigured', firstOrderSequence: ADOPTED_FIRST }, 'recorded');
  const first = acceptedOrderId(step(state, order('s', 'alice'), log));
  const second = acceptedOrderId(step(state, order('s', 'bob'), log));
  t.same([first, second], ['s~1000000000001', 's~1000000000002']);
  t.equal(viewOrder(state, first)?.customerId, 'alice', 'each is found by its id');
  t.equal(viewOrder(state, second)?.customerId, 'bob');
  t.equal(viewOrder(state, 's~1'), null, 'ids below the range name no order');

  const replayed = initialState();
  for (const event of log) evolve(replayed, event);
  t.same(toSnapshotData(replayed), toSnapshotData(state), 'replaying the log numbers them alike');

  const loaded = fromSnapshotData(JSON.parse(JSON.stringify(toSnapshotData(state))));
  t.equal(viewOrder(loaded, second)?.customerId, 'bob', 'a snapshot keeps the range');
  t.equal(acceptedOrderId(step(loaded, order('s', 'carol'))), 's~1000000000003', 'and goes on');
});

t.test('only where a sale starts, and as before by default', async (t) => {
  const state = initialState();
  const log: Event[] = [];
  step(state, configure('s'), log);
  t.notOk('firstOrderSequence' in log[0]!, 'a first home writes the event as it always did');
  t.equal(acceptedOrderId(step(state, order('s', 'alice'))), 's~1');
  const later = step(state, {
    ...configure('s', { stock: 50 }),
    firstOrderSequence: ADOPTED_FIRST,
  });
  t.notOk(later.ok && later.events.some((e) => 'firstOrderSequence' in e), 'ignored on update');
  t.equal(acceptedOrderId(step(state, order('s', 'bob'))), 's~2', 'numbering goes on');
  for (const bad of [0, -1, 1.5])
    t.equal(
      rejectionCode(step(initialState(), { ...configure('s'), firstOrderSequence: bad })),
      'INVALID_REQUEST',
      `first sequence ${bad} is refused`,
    );
});

t.test('a snapshot from before sales had a first sequence loads from 1', async (t) => {
  const state = initialState();
  step(state, configure('s', {}, T0));
  step(state, order('s', 'alice'));
  const data = toSnapshotData(state);
  t.equal(data.sales[0]!.length, 10, 'the sale tuple is written as before');
  t.equal(viewOrder(fromSnapshotData(data), 's~1')?.customerId, 'alice');
});
