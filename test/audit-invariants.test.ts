import fc from 'fast-check';
import t, { type Test } from 'tap';
import type { AuditRow } from '../scripts/audit/audit-rows.js';
import { failuresOf, passed } from '../scripts/audit/audit-rows.js';
import { auditSales, I1_CHECK, I2_CHECK, I3_CHECK } from '../scripts/audit/invariants.js';
import type { Holding, ReadBack, SaleReading } from '../scripts/audit/reading.js';

// The one audit's pure core (scripts/audit/invariants.ts), in-process: a reading that holds
// passes; each breach of I1, I2 or I3 is named in its row; what could not be read is unread, not
// a pass. A property runs a model sale (requests decided against the stock and the cap, some
// answers lost) and checks that the truth always passes and that each corruption is caught.

const SALE = 'audited';

const order = (orderId: string, quantity: number, customerId: string) => ({
  orderId,
  quantity,
  customerId,
  saleId: SALE,
});

/** Two customers: ann holds o1 (2 units) and o2 (1), bob o3 (1); o3's answer was lost. */
function goodReading(): SaleReading {
  return {
    saleId: SALE,
    configured: { stock: 10, perCustomerLimit: 3, soldBefore: 0 },
    sale: { stock: 10, remaining: 6 },
    holdings: [
      { customerId: 'ann', purchased: 3, orders: [order('o1', 2, 'ann'), order('o2', 1, 'ann')] },
      { customerId: 'bob', purchased: 1, orders: [order('o3', 1, 'bob')] },
    ],
    unreadCustomers: [],
    everyBuyerRead: true,
    acknowledged: [
      { orderId: 'o1', customerId: 'ann', quantity: 2 },
      { orderId: 'o2', customerId: 'ann', quantity: 1 },
    ],
    unknownUnits: new Map([['bob', 1]]),
    readBack: new Map<string, ReadBack>([
      ['o1', { kind: 'found', customerId: 'ann', quantity: 2, saleId: SALE }],
      ['o2', { kind: 'found', customerId: 'ann', quantity: 1, saleId: SALE }],
    ]),
  };
}

const rowOf = (rows: readonly AuditRow[], check: string): AuditRow => {
  const row = rows.find((r) => r.check === check);
  if (row === undefined) throw new Error(`no row ${check}`);
  return row;
};

/** True when one of `lines` matches. */
const has = (lines: readonly string[], pattern: RegExp): boolean =>
  lines.some((line) => pattern.test(line));

/** The one breach `reading` has, in the row expected: nothing else broken, nothing unread. */
function onlyBreach(t: Test, reading: SaleReading, check: string, pattern: RegExp): void {
  const rows = auditSales([reading]);
  const failures = failuresOf(rows);
  t.equal(failures.length, 1, `one failure: ${failures.join('; ')}`);
  t.match(rowOf(rows, check).breaches[0] ?? '', pattern, check);
}

t.test('a reading that holds passes, a row per invariant with what it checked', async (t) => {
  const rows = auditSales([goodReading()]);
  t.ok(passed(rows), failuresOf(rows).join('; '));
  t.same(
    rows.map((row) => [row.check, row.checked]),
    [
      [I1_CHECK, 1],
      [I2_CHECK, 2],
      [I3_CHECK, 2],
    ],
  );
});

t.test('I1 breaches', async (t) => {
  const good = goodReading();
  t.test('sold past the stock', async (t) => {
    const rows = auditSales([{ ...good, sale: { stock: 10, remaining: -1 } }]);
    t.ok(
      has(rowOf(rows, I1_CHECK).breaches, /I1: audited sold 11 units of a stock of 10/),
      String(/I1: audited sold 11 units of a stock of 10/),
    );
  });
  t.test('the stock changed', async (t) => {
    const rows = auditSales([{ ...good, sale: { stock: 12, remaining: 8 } }]);
    t.ok(
      has(rowOf(rows, I1_CHECK).breaches, /the stock became 12 \(configured 10\)/),
      String(/the stock became 12 \(configured 10\)/),
    );
  });
  t.test('counters that no order holds', async (t) => {
    const reading = {
      ...good,
      sale: { stock: 10, remaining: 5 },
      unknownUnits: new Map([['bob', 2]]),
    };
    onlyBreach(t, reading, I1_CHECK, /stock − remaining = 5 but its orders hold 4 units/);
  });
  t.test('units sold that nobody was told of, beyond the unknown', async (t) => {
    const reading = { ...good, everyBuyerRead: false, sale: { stock: 10, remaining: 5 } };
    onlyBreach(
      t,
      reading,
      I1_CHECK,
      /sold 5 units in the run but 3 were acknowledged \(plus up to 1/,
    );
  });
  t.test('fewer sold than acknowledged', async (t) => {
    const reading = { ...good, everyBuyerRead: false, sale: { stock: 10, remaining: 8 } };
    onlyBreach(t, reading, I1_CHECK, /sold 2 units in the run but 3 were acknowledged/);
  });
  t.test("units sold before the run are not the run's", async (t) => {
    const reading = {
      ...good,
      configured: { ...good.configured, soldBefore: 4 },
      sale: { stock: 10, remaining: 2 },
    };
    t.ok(passed(auditSales([reading])), 'sold 8, 4 of them before: 4 in the run');
  });
  t.test('a sample of the buyers read: the rest are counted, not added up', async (t) => {
    const reading = {
      ...good,
      everyBuyerRead: false,
      acknowledgedUnits: 5,
      sale: { stock: 10, remaining: 4 },
    };
    t.ok(passed(auditSales([reading])), failuresOf(auditSales([reading])).join('; '));
  });
});

t.test('I2 breaches', async (t) => {
  const good = goodReading();
  const withAnn = (ann: Holding): SaleReading => ({
    ...good,
    everyBuyerRead: false,
    holdings: [ann, good.holdings[1]!],
  });
  t.test('above the cap', async (t) => {
    const reading = {
      ...withAnn({
        customerId: 'ann',
        purchased: 4,
        orders: [order('o1', 2, 'ann'), order('o2', 1, 'ann'), order('o4', 1, 'ann')],
      }),
      unknownUnits: new Map([
        ['ann', 1],
        ['bob', 1],
      ]),
      acknowledgedUnits: 3,
      sale: { stock: 10, remaining: 5 },
    };
    onlyBreach(t, reading, I2_CHECK, /I2: ann holds 4 units of audited \(cap 3\)/);
  });
  t.test('purchased is not what its orders hold', async (t) => {
    const reading = withAnn({
      customerId: 'ann',
      purchased: 3,
      orders: [order('o1', 2, 'ann'), order('o2', 2, 'ann')],
    });
    const rows = auditSales([reading]);
    t.ok(
      has(rowOf(rows, I2_CHECK).breaches, /ann: purchased says 3 but its orders hold 4 units/),
      String(/ann: purchased says 3 but its orders hold 4 units/),
    );
  });
  t.test('holds more than it was told of', async (t) => {
    const reading = {
      ...withAnn({
        customerId: 'ann',
        purchased: 3,
        orders: [order('o1', 2, 'ann'), order('o2', 1, 'ann')],
      }),
      acknowledged: [{ orderId: 'o1', customerId: 'ann', quantity: 2 }],
      acknowledgedUnits: 3,
      readBack: undefined,
    };
    onlyBreach(t, reading, I2_CHECK, /ann holds 3 units but was acknowledged 2/);
  });
  t.test("another customer's order listed", async (t) => {
    const reading = withAnn({
      customerId: 'ann',
      purchased: 3,
      orders: [order('o1', 2, 'ann'), order('o3', 1, 'bob')],
    });
    const rows = auditSales([
      {
        ...reading,
        readBack: undefined,
        acknowledged: [good.acknowledged[0]!],
        acknowledgedUnits: 3,
      },
    ]);
    t.ok(
      has(rowOf(rows, I2_CHECK).breaches, /ann's orders list o3 of bob in audited/),
      String(/ann's orders list o3 of bob in audited/),
    );
  });
});

t.test('I3 breaches', async (t) => {
  const good = goodReading();
  t.test('an acknowledged order missing from its customer', async (t) => {
    const reading = {
      ...good,
      holdings: [
        { customerId: 'ann', purchased: 3, orders: [order('o1', 2, 'ann'), order('o9', 1, 'ann')] },
        good.holdings[1]!,
      ],
    };
    onlyBreach(t, reading, I3_CHECK, /I3: acknowledged order o2 is not among ann's orders/);
  });
  t.test('an acknowledged order lost when read on its own', async (t) => {
    const readBack = new Map(good.readBack);
    readBack.set('o2', { kind: 'missing' });
    onlyBreach(t, { ...good, readBack }, I3_CHECK, /I3: acknowledged order o2 is lost/);
  });
  t.test('an acknowledged order that changed', async (t) => {
    const readBack = new Map(good.readBack);
    readBack.set('o2', { kind: 'found', customerId: 'bob', quantity: 1, saleId: SALE });
    onlyBreach(
      t,
      { ...good, readBack },
      I3_CHECK,
      /order o2 changed: acknowledged 1 unit\(s\) to ann/,
    );
  });
});

t.test('what could not be read is unread: not a breach, not a pass', async (t) => {
  const good = goodReading();
  const readBack = new Map(good.readBack);
  readBack.set('o1', { kind: 'unread', reason: '503 OVERLOADED' });
  const rows = auditSales([
    {
      ...good,
      sale: { unread: 'ECONNREFUSED' },
      holdings: [good.holdings[1]!],
      unreadCustomers: [{ customerId: 'ann', reason: 'timeout' }],
      readBack,
    },
  ]);
  t.notOk(passed(rows));
  t.same(
    rows.map((row) => row.breaches.length),
    [0, 0, 0],
    'no breach claimed',
  );
  t.ok(
    has(rowOf(rows, I1_CHECK).unread, /sale audited could not be read: ECONNREFUSED/),
    String(/sale audited could not be read: ECONNREFUSED/),
  );
  t.ok(
    has(rowOf(rows, I2_CHECK).unread, /customer ann of audited could not be read: timeout/),
    String(/customer ann of audited could not be read: timeout/),
  );
  t.ok(
    has(rowOf(rows, I3_CHECK).unread, /o1 could not be read: 503 OVERLOADED/),
    String(/o1 could not be read: 503 OVERLOADED/),
  );
});

t.test('a tool adds a check of its own; sales add up by check', async (t) => {
  const good = goodReading();
  const other = {
    ...goodReading(),
    saleId: 'other',
    holdings: [],
    acknowledged: [],
    unknownUnits: new Map(),
    readBack: new Map(),
    sale: { stock: 10, remaining: 10 },
  };
  const soldOut = (reading: SaleReading): AuditRow => ({
    check: 'sold out',
    checked: 1,
    breaches:
      'unread' in reading.sale || reading.sale.remaining === 0
        ? []
        : [`${reading.saleId} not sold out`],
    unread: [],
  });
  const rows = auditSales([good, other], [soldOut]);
  t.same(
    rows.map((row) => [row.check, row.checked]),
    [
      [I1_CHECK, 2],
      [I2_CHECK, 2],
      [I3_CHECK, 2],
      ['sold out', 2],
    ],
  );
  t.same(failuresOf(rows), ['audited not sold out', 'other not sold out']);
});

// The model: requests decided in order against the stock and the cap; an answer may be lost.
interface Request {
  readonly customer: number;
  readonly quantity: number;
  readonly answered: boolean;
}

const worldArb = fc.record({
  stock: fc.integer({ min: 0, max: 20 }),
  cap: fc.integer({ min: 1, max: 4 }),
  requests: fc.array(
    fc.record({
      customer: fc.integer({ min: 0, max: 5 }),
      quantity: fc.integer({ min: 1, max: 3 }),
      answered: fc.boolean(),
    }),
    { maxLength: 30 },
  ),
});

/** What a correct system holds after the requests, and what its client knows. */
function truthOf(world: { stock: number; cap: number; requests: readonly Request[] }) {
  const { stock, cap, requests } = world;
  let remaining = stock;
  const held = new Map<string, { orderId: string; quantity: number }[]>();
  const acknowledged: { orderId: string; customerId: string; quantity: number }[] = [];
  const unknownUnits = new Map<string, number>();
  requests.forEach(({ customer, quantity, answered }, i) => {
    const customerId = `c${customer}`;
    const orders = held.get(customerId) ?? [];
    held.set(customerId, orders);
    const purchased = orders.reduce((sum, o) => sum + o.quantity, 0);
    const placed = quantity <= remaining && purchased + quantity <= cap;
    if (placed) {
      remaining -= quantity;
      orders.push({ orderId: `o${i}`, quantity });
      if (answered) acknowledged.push({ orderId: `o${i}`, customerId, quantity });
    }
    if (!answered) unknownUnits.set(customerId, (unknownUnits.get(customerId) ?? 0) + quantity);
  });
  const holdings: Holding[] = [...held].map(([customerId, orders]) => ({
    customerId,
    purchased: orders.reduce((sum, o) => sum + o.quantity, 0),
    orders: orders.map((o) => order(o.orderId, o.quantity, customerId)),
  }));
  const readBack = new Map<string, ReadBack>(
    acknowledged.map((a) => [
      a.orderId,
      { kind: 'found', customerId: a.customerId, quantity: a.quantity, saleId: SALE },
    ]),
  );
  const reading: SaleReading = {
    saleId: SALE,
    configured: { stock, perCustomerLimit: cap, soldBefore: 0 },
    sale: { stock, remaining },
    holdings,
    unreadCustomers: [],
    everyBuyerRead: true,
    acknowledged,
    unknownUnits,
    readBack,
  };
  return reading;
}

t.test('property: the truth passes; every corruption is caught in its row', async (t) => {
  fc.assert(
    fc.property(worldArb, (world) => {
      const truth = truthOf(world);
      if (!passed(auditSales([truth]))) return false;
      const caught = (reading: SaleReading, check: string) =>
        rowOf(auditSales([reading]), check).breaches.length > 0;
      // A unit sold that no order holds (or sold past the stock).
      const sale = truth.sale as { stock: number; remaining: number };
      if (!caught({ ...truth, sale: { ...sale, remaining: sale.remaining - 1 } }, I1_CHECK))
        return false;
      // A customer nobody sold to holds an order.
      const intruder = {
        customerId: 'intruder',
        purchased: 1,
        orders: [order('x', 1, 'intruder')],
      };
      const invented = {
        ...truth,
        holdings: [...truth.holdings, intruder],
        sale: { ...sale, remaining: sale.remaining - 1 },
      };
      if (!caught(invented, I2_CHECK)) return false;
      // A customer past the cap.
      const over = {
        customerId: 'c0',
        purchased: world.cap + 1,
        orders: [order('big', world.cap + 1, 'c0')],
      };
      const capped = {
        ...truth,
        holdings: [...truth.holdings.filter((h) => h.customerId !== 'c0'), over],
      };
      if (!caught(capped, I2_CHECK)) return false;
      // An acknowledged order lost, counters and all.
      const lost = truth.acknowledged[0];
      if (lost === undefined) return true;
      const holdings = truth.holdings.map((h) => ({
        ...h,
        orders: h.orders.filter((o) => o.orderId !== lost.orderId),
        purchased: h.purchased - (h.customerId === lost.customerId ? lost.quantity : 0),
      }));
      const readBack = new Map(truth.readBack);
      readBack.set(lost.orderId, { kind: 'missing' });
      return caught(
        {
          ...truth,
          holdings,
          readBack,
          sale: { ...sale, remaining: sale.remaining + lost.quantity },
        },
        I3_CHECK,
      );
    }),
    { numRuns: 500 },
  );
  t.pass('500 model sales');
});
