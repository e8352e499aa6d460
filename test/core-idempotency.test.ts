import t from 'tap';
import { viewSale } from '../engine/core/index.js';
import { acceptedOrderId, order, rejectionCode, stateWithSale, step, T0 } from './helpers/core.js';

t.test(
  'same customer, key and request returns the original order and sells nothing more',
  async (t) => {
    const state = stateWithSale('s1');
    const first = acceptedOrderId(step(state, order('s1', 'a', 1, { idempotencyKey: 'k1' })));
    const retry = step(state, order('s1', 'a', 1, { idempotencyKey: 'k1', at: T0 + 5 }));
    t.same(retry, {
      ok: true,
      events: [],
      outcome: { type: 'OrderPlaced', orderId: first, replayed: true },
    });
    t.equal(viewSale(state, 's1', T0)?.remaining, 99);
  },
);

t.test('a replay wins even after the sale sold out or closed', async (t) => {
  const state = stateWithSale('s1', { stock: 1, endsAt: T0 + 10 });
  const first = acceptedOrderId(step(state, order('s1', 'a', 1, { idempotencyKey: 'k' })));
  const retry = step(state, order('s1', 'a', 1, { idempotencyKey: 'k', at: T0 + 20 }));
  t.equal(acceptedOrderId(retry), first);
});

t.test('same key with a different request is IDEMPOTENCY_KEY_REUSED', async (t) => {
  const state = stateWithSale('s1');
  acceptedOrderId(step(state, order('s1', 'a', 1, { idempotencyKey: 'k1' })));
  t.equal(
    rejectionCode(step(state, order('s1', 'a', 2, { idempotencyKey: 'k1' }))),
    'IDEMPOTENCY_KEY_REUSED',
  );
  t.equal(viewSale(state, 's1', T0)?.remaining, 99);
});

t.test('keys are scoped per customer', async (t) => {
  const state = stateWithSale('s1');
  const a = acceptedOrderId(step(state, order('s1', 'a', 1, { idempotencyKey: 'k1' })));
  const b = acceptedOrderId(step(state, order('s1', 'b', 1, { idempotencyKey: 'k1' })));
  t.not(a, b);
});

t.test('a rejected request binds no key: its retry is decided afresh', async (t) => {
  const state = stateWithSale('s1', { stock: 5, perCustomerLimit: 2 });
  t.equal(
    rejectionCode(step(state, order('s1', 'a', 3, { idempotencyKey: 'k' }))),
    'LIMIT_EXCEEDED',
  );
  t.ok(
    step(state, order('s1', 'a', 2, { idempotencyKey: 'k' })).ok,
    'same key, new request, accepted',
  );
});
