import assert from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import {
  type Command,
  decide,
  type EngineState,
  type Event,
  evolve,
  fromSnapshotData,
  initialState,
  type OrderBlock,
  orderOf,
  type ShippingStatus,
  SnapshotCursor,
  type TupleSnapshotData,
  toSnapshotData,
} from '../engine/core/index.js';
import { configure, order, step, T0 } from './helpers/core.js';

// Random command sequences against a few small sales, so that sell-outs, caps, key reuse and
// late shipping reports all happen often. After every step: I1, I2, I5 and "replaying the events
// rebuilds exactly the same state".

const SALE_IDS = ['a', 'b'] as const;
const CUSTOMERS = ['c1', 'c2', 'c3', 'c4', 'c5'] as const;
const KEYS = ['k1', 'k2', 'k3'] as const;

const configureArb = fc.record({
  type: fc.constant('ConfigureSale' as const),
  saleId: fc.constantFrom(...SALE_IDS),
  name: fc.constantFrom('Sale', 'Renamed'),
  stock: fc.integer({ min: 0, max: 12 }),
  perCustomerLimit: fc.integer({ min: 1, max: 4 }),
  startsAt: fc.option(fc.integer({ min: T0 - 50, max: T0 + 50 }), { nil: null }),
  endsAt: fc.option(fc.integer({ min: T0 + 51, max: T0 + 500 }), { nil: null }),
  at: fc.integer({ min: T0 - 100, max: T0 + 600 }),
});

const placeArb = fc
  .record({
    saleId: fc.constantFrom(...SALE_IDS, 'missing'),
    customerId: fc.constantFrom(...CUSTOMERS),
    quantity: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, -1, 1.5)),
    idempotencyKey: fc.option(fc.constantFrom(...KEYS), { nil: null }),
    at: fc.integer({ min: T0 - 100, max: T0 + 600 }),
  })
  .map(
    (o): Command => ({
      type: 'PlaceOrder',
      ...o,
      // The hash stands for the request's body: same quantity, same hash.
      requestHash: o.idempotencyKey === null ? null : `q=${o.quantity}`,
    }),
  );

const shippingArb = fc.record({
  type: fc.constant('RecordShippingStatus' as const),
  orderId: fc
    .constantFrom(...SALE_IDS)
    .chain((s) => fc.integer({ min: 1, max: 15 }).map((n) => `${s}~${n}`)),
  status: fc.constantFrom<ShippingStatus>(
    'SHIPPING_DELAYED',
    'SHIPPING_REQUESTED',
    'SHIPPING_FAILED',
  ),
  trackingId: fc.option(fc.constantFrom('T1', 'T2'), { nil: null }),
  message: fc.option(fc.constant('later'), { nil: null }),
  at: fc.integer({ min: T0, max: T0 + 1000 }),
});

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 1, arbitrary: configureArb },
  { weight: 6, arbitrary: placeArb },
  { weight: 2, arbitrary: shippingArb },
);

function checkStockAndCap(state: EngineState): string | null {
  for (const sale of state.sales.values()) {
    let unitsOfOrders = 0;
    for (const customer of sale.customers.values()) {
      let units = 0;
      for (const id of customer.orderIds) units += orderOf(state, id)!.quantity;
      if (units !== customer.purchased) return `purchased counter drifted in ${sale.saleId}`;
      if (units > sale.settings.perCustomerLimit) return `I2 broken in ${sale.saleId}`;
      unitsOfOrders += units;
    }
    if (unitsOfOrders !== sale.sold) return `sold counter drifted in ${sale.saleId}`;
    if (sale.sold > sale.settings.stock) return `I1 broken in ${sale.saleId}`;
  }
  return null;
}

const replay = (events: readonly Event[]): EngineState => events.reduce(evolve, initialState());

t.test('I1, I2 and replay equality hold after every step', async (t) => {
  fc.assert(
    fc.property(fc.array(commandArb, { minLength: 1, maxLength: 80 }), (commands) => {
      const state = initialState();
      const events: Event[] = [];
      for (const command of commands) {
        step(state, command, events);
        const broken = checkStockAndCap(state);
        if (broken !== null) throw new Error(broken);
        if (!fc.stringify(replay(events)).includes('Map'))
          throw new Error('unexpected state shape');
        t.same(replay(events), state);
      }
    }),
    { numRuns: 300 },
  );
  t.pass('300 random sequences checked after every step');
});

// Keyed requests against open sales, so that most of them are accepted and can be retried.
const keyedRequestArb = fc
  .record({
    saleId: fc.constantFrom(...SALE_IDS),
    customerId: fc.constantFrom(...CUSTOMERS),
    quantity: fc.integer({ min: 1, max: 2 }),
    idempotencyKey: fc.constantFrom(...KEYS),
  })
  .map(
    (o): Extract<Command, { type: 'PlaceOrder' }> => ({
      type: 'PlaceOrder',
      ...o,
      requestHash: `q=${o.quantity}`,
      at: T0,
    }),
  );

const openSale = (saleId: string): Command => ({
  type: 'ConfigureSale',
  saleId,
  name: 'Open',
  stock: 30,
  perCustomerLimit: 4,
  startsAt: null,
  endsAt: null,
  at: T0,
});

t.test('I5: a retried request returns the original order and sells nothing more', async (t) => {
  let replays = 0;
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 40 }), keyedRequestArb, (prefix, request) => {
      const state = initialState();
      for (const command of [...SALE_IDS.map(openSale), ...prefix]) step(state, command);
      const first = step(state, request);
      if (!first.ok) return;
      const soldBefore = state.sales.get(request.saleId)!.sold;
      const retry = step(state, { ...request, at: request.at + 1 });
      assert.deepStrictEqual(retry.ok && retry.outcome, { ...first.outcome, replayed: true });
      assert.equal(state.sales.get(request.saleId)!.sold, soldBefore, 'nothing more sold');
      const different = step(state, {
        ...request,
        quantity: 1 + (request.quantity % 2),
        requestHash: 'other',
      });
      assert.equal(different.ok ? 'accepted' : different.rejection.code, 'IDEMPOTENCY_KEY_REUSED');
      replays += 1;
    }),
    { numRuns: 300 },
  );
  t.ok(replays > 50, `the generator produced enough accepted keyed orders (${replays})`);
});

/** Random states, written by `encode` and read through JSON by fromSnapshotData, come back equal. */
function assertLoadsBack(encode: (state: EngineState) => unknown, numRuns: number): void {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 120 }), (commands) => {
      const state = initialState();
      for (const command of commands) step(state, command);
      const data = JSON.parse(JSON.stringify(encode(state)));
      assert.deepStrictEqual(fromSnapshotData(data), state);
    }),
    { numRuns },
  );
}

t.test('a snapshot round trip gives the same state', async (t) => {
  assertLoadsBack(toSnapshotData, 200);
  t.pass('200 random states survived a snapshot round trip');
});

/** Format 1, a tuple per order, as engines wrote it before the blocks of format 2. */
function tupleSnapshotOf(state: EngineState): TupleSnapshotData {
  const { sales } = toSnapshotData(state);
  const all = Array.from(state.sales.values()).flatMap((sale) => sale.orders);
  const orders = all.map((o): TupleSnapshotData['orders'][number] => [
    o.orderId,
    o.saleId,
    o.customerId,
    o.quantity,
    o.createdAt,
    o.idempotencyKey,
    o.requestHash,
    o.trackingId,
    o.history.map((h): [typeof h.status, number, string | null] => [h.status, h.at, h.message]),
  ]);
  return { version: 1, sales, orders };
}

t.test('a snapshot of format 1 (written before an upgrade) still loads', async (t) => {
  assertLoadsBack(tupleSnapshotOf, 100);
  t.pass('100 random states loaded from format 1');
});

// What the actor does while a snapshot is being written: a few orders read, then commands decided
// and applied (preserving an order before its shipping status changes), and so on.
const ORDERS_BEFORE_MAX = 40;
type Interleaved =
  | { readonly read: number }
  | { readonly ship: number; readonly status: ShippingStatus; readonly at: number }
  | { readonly place: string; readonly saleId: string }
  | { readonly configure: string };
/** A sale the noise may have made before the read, and one made only while it goes on. */
const SALES_DURING = ['b', 'late'] as const;
const interleavedArb: fc.Arbitrary<Interleaved> = fc.oneof(
  fc.integer({ min: 1, max: 4 }).map((read) => ({ read })),
  {
    // Twice as likely as the others: shipping statuses are what the cursor must preserve.
    weight: 2,
    arbitrary: fc.record({
      ship: fc.integer({ min: 1, max: ORDERS_BEFORE_MAX }),
      status: fc.constantFrom<ShippingStatus>(
        'SHIPPING_DELAYED',
        'SHIPPING_REQUESTED',
        'SHIPPING_FAILED',
      ),
      at: fc.integer({ min: T0, max: T0 + 1000 }),
    }),
  },
  fc.record({
    place: fc.constantFrom(...CUSTOMERS),
    saleId: fc.constantFrom('a', ...SALES_DURING),
  }),
  fc.constantFrom(...SALES_DURING).map((configure) => ({ configure })),
);

t.test('a snapshot read in steps while commands go on is the state it began with', async (t) => {
  let changedWhileRead = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: ORDERS_BEFORE_MAX }),
      fc.array(commandArb, { maxLength: 30 }),
      fc.array(interleavedArb, { maxLength: 80 }),
      (orderCount, noise, during) => {
        const state = initialState();
        step(state, { ...configure('a', { stock: 1_000, perCustomerLimit: 1_000 }), at: T0 });
        for (let n = 0; n < orderCount; n += 1) step(state, order('a', CUSTOMERS[n % 5]!));
        for (const command of noise) step(state, command);
        const expected = fromSnapshotData(JSON.parse(JSON.stringify(toSnapshotData(state))));
        const cursor = new SnapshotCursor(state);
        const orders: OrderBlock[] = [];
        const apply = (command: Command): void => {
          const decision = decide(state, command);
          if (!decision.ok) return;
          for (const event of decision.events) {
            if (event.type === 'ShippingStatusRecorded') {
              if (!cursor.done) changedWhileRead += 1;
              cursor.preserve(orderOf(state, event.orderId)!);
            }
            evolve(state, event);
          }
        };
        for (const action of during) {
          if ('read' in action) orders.push(cursor.next(action.read));
          else if ('ship' in action)
            apply({
              type: 'RecordShippingStatus',
              orderId: `a~${action.ship}`,
              status: action.status,
              trackingId: action.status === 'SHIPPING_REQUESTED' ? `track-${action.at}` : null,
              message: null,
              at: action.at,
            });
          else if ('place' in action) apply(order(action.saleId, action.place));
          else
            apply({ ...configure(action.configure, { stock: 50, perCustomerLimit: 5 }), at: T0 });
        }
        orders.push(cursor.next(Number.POSITIVE_INFINITY));
        assert.ok(cursor.done);
        const read = JSON.parse(JSON.stringify({ version: 2, sales: cursor.sales, orders }));
        assert.deepStrictEqual(fromSnapshotData(read), expected);
      },
    ),
    { numRuns: 400 },
  );
  t.ok(changedWhileRead > 200, `orders changed while the snapshot was read: ${changedWhileRead}`);
});
