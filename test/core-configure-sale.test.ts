import t from 'tap';
import { initialState, viewSale } from '../engine/core/index.js';
import { configure, order, rejectionCode, stateWithSale, step, T0 } from './helpers/core.js';

t.test('creating a sale, then updating it', async (t) => {
  const state = initialState();
  const created = step(state, configure('s1', { stock: 10 }));
  t.same(created.ok && created.outcome, { type: 'SaleConfigured', saleId: 's1', created: true });
  const updated = step(state, configure('s1', { stock: 20 }));
  t.same(updated.ok && updated.outcome, { type: 'SaleConfigured', saleId: 's1', created: false });
  t.equal(viewSale(state, 's1', T0)?.stock, 20);
});

t.test('an unchanged configuration writes no event', async (t) => {
  const state = stateWithSale('s1');
  const again = step(state, configure('s1'));
  t.same(again.ok && again.events, []);
});

t.test('stock may not go below what is sold', async (t) => {
  const state = stateWithSale('s1', { stock: 10 });
  step(state, order('s1', 'a', 2));
  step(state, order('s1', 'b', 2));
  const decision = step(state, configure('s1', { stock: 3 }));
  t.equal(rejectionCode(decision), 'INVALID_REQUEST');
  t.same(decision.ok ? null : decision.rejection.details, { sold: 4 });
  t.ok(step(state, configure('s1', { stock: 4 })).ok, 'exactly what is sold is fine');
  t.equal(viewSale(state, 's1', T0)?.status, 'SOLD_OUT');
});

t.test('the cap may not go below what a customer already bought', async (t) => {
  const state = stateWithSale('s1', { perCustomerLimit: 3 });
  step(state, order('s1', 'a', 3));
  t.equal(rejectionCode(step(state, configure('s1', { perCustomerLimit: 2 }))), 'INVALID_REQUEST');
});

t.test('bad settings are INVALID_REQUEST and change nothing', async (t) => {
  const cases: [string, Parameters<typeof configure>[1], string?][] = [
    ['negative stock', { stock: -1 }],
    ['fractional stock', { stock: 1.5 }],
    ['huge stock', { stock: 1e12 }],
    ['zero limit', { perCustomerLimit: 0 }],
    ['empty name', { name: '   ' }],
    ['long name', { name: 'x'.repeat(201) }],
    ['window backwards', { startsAt: T0 + 10, endsAt: T0 }],
    ['negative time', { startsAt: -5 }],
  ];
  for (const [label, settings] of cases) {
    const state = initialState();
    t.equal(rejectionCode(step(state, configure('s1', settings))), 'INVALID_REQUEST', label);
    t.equal(state.sales.size, 0, `${label}: no sale created`);
  }
  for (const saleId of ['', 'a.b', 'a*', 'a>', 'x'.repeat(65), 'with space']) {
    t.equal(
      rejectionCode(step(initialState(), configure(saleId))),
      'INVALID_REQUEST',
      `saleId ${saleId}`,
    );
  }
});

t.test('sale status follows the window and the stock', async (t) => {
  const state = stateWithSale('s1', { stock: 1, startsAt: T0 + 100, endsAt: T0 + 200 });
  t.equal(viewSale(state, 's1', T0)?.status, 'SCHEDULED');
  t.equal(viewSale(state, 's1', T0 + 100)?.status, 'OPEN');
  step(state, order('s1', 'a', 1, { at: T0 + 150 }));
  t.equal(viewSale(state, 's1', T0 + 150)?.status, 'SOLD_OUT');
  t.equal(viewSale(state, 's1', T0 + 200)?.status, 'ENDED');
  t.equal(viewSale(state, 'none', T0), null);
});
