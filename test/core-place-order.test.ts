import t from 'tap';
import {
  decide,
  orderCount,
  saleIdOfOrderId,
  viewCustomer,
  viewOrder,
  viewSale,
} from '../engine/core/index.js';
import { acceptedOrderId, order, rejectionCode, stateWithSale, step, T0 } from './helpers/core.js';

t.test('an accepted order takes stock, counts toward the cap and names its sale', async (t) => {
  const state = stateWithSale('s1', { stock: 10, perCustomerLimit: 3 });
  const decision = step(state, order('s1', 'alice', 2));
  const orderId = acceptedOrderId(decision);
  t.equal(saleIdOfOrderId(orderId), 's1');
  t.equal(viewSale(state, 's1', T0)?.remaining, 8);
  t.same(viewCustomer(state, 's1', 'alice'), {
    saleId: 's1',
    customerId: 'alice',
    purchased: 2,
    orderIds: [orderId],
  });
  const order2 = acceptedOrderId(step(state, order('s1', 'bob', 1)));
  t.not(order2, orderId, 'order ids are unique');
});

t.test('an order is found by its exact id only', async (t) => {
  const state = stateWithSale('s1');
  const orderId = acceptedOrderId(step(state, order('s1', 'alice', 1)));
  t.equal(orderId, 's1~1');
  t.equal(viewOrder(state, orderId)?.orderId, orderId);
  // Each names sale s1 and reads as sequence 1 to a lenient parse, or names nothing there.
  for (const other of [
    's1~01',
    's1~1.0',
    's1~+1',
    's1~1 ',
    's1~0x1',
    's1~0',
    's1~2',
    's1~',
    's1',
    's2~1',
  ])
    t.equal(viewOrder(state, other), null, `no order ${JSON.stringify(other)}`);
});

t.test('decide does not change the state', async (t) => {
  const state = stateWithSale('s1');
  const before = JSON.stringify(viewSale(state, 's1', T0));
  const decision = decide(state, order('s1', 'alice', 1));
  t.ok(decision.ok);
  t.equal(JSON.stringify(viewSale(state, 's1', T0)), before);
  t.equal(orderCount(state), 0);
});

t.test('SALE_NOT_FOUND for an unknown sale', async (t) => {
  t.equal(rejectionCode(step(stateWithSale('s1'), order('nope', 'alice'))), 'SALE_NOT_FOUND');
});

t.test('INVALID_REQUEST for a quantity that is not an integer >= 1', async (t) => {
  const state = stateWithSale('s1');
  for (const quantity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
    t.equal(
      rejectionCode(step(state, order('s1', 'alice', quantity))),
      'INVALID_REQUEST',
      `${quantity}`,
    );
  }
  t.equal(orderCount(state), 0, 'nothing was sold');
});

t.test('INVALID_REQUEST for an empty customer or an oversized idempotency key', async (t) => {
  const state = stateWithSale('s1');
  t.equal(rejectionCode(step(state, order('s1', ''))), 'INVALID_REQUEST');
  const key = 'k'.repeat(129);
  t.equal(
    rejectionCode(step(state, order('s1', 'a', 1, { idempotencyKey: key }))),
    'INVALID_REQUEST',
  );
});

t.test('SALE_NOT_OPEN before startsAt and from endsAt on', async (t) => {
  const state = stateWithSale('s1', { startsAt: T0 + 1000, endsAt: T0 + 2000 });
  t.equal(rejectionCode(step(state, order('s1', 'a', 1, { at: T0 + 999 }))), 'SALE_NOT_OPEN');
  t.equal(rejectionCode(step(state, order('s1', 'a', 1, { at: T0 + 2000 }))), 'SALE_NOT_OPEN');
  t.ok(step(state, order('s1', 'a', 1, { at: T0 + 1000 })).ok, 'open at startsAt');
  t.ok(step(state, order('s1', 'b', 1, { at: T0 + 1999 })).ok, 'open until just before endsAt');
});

t.test('SOLD_OUT once nothing is left; I1 holds', async (t) => {
  const state = stateWithSale('s1', { stock: 3, perCustomerLimit: 1 });
  for (const customer of ['a', 'b', 'c']) acceptedOrderId(step(state, order('s1', customer)));
  const decision = step(state, order('s1', 'd'));
  t.equal(rejectionCode(decision), 'SOLD_OUT');
  t.equal(viewSale(state, 's1', T0)?.remaining, 0);
  t.equal(viewSale(state, 's1', T0)?.status, 'SOLD_OUT');
});

t.test('INSUFFICIENT_STOCK gives remaining and fills nothing', async (t) => {
  const state = stateWithSale('s1', { stock: 3, perCustomerLimit: 5 });
  acceptedOrderId(step(state, order('s1', 'a', 2)));
  const decision = step(state, order('s1', 'b', 2));
  t.equal(rejectionCode(decision), 'INSUFFICIENT_STOCK');
  t.same(decision.ok ? null : decision.rejection.details, { remaining: 1 });
  t.equal(viewSale(state, 's1', T0)?.remaining, 1, 'no partial fill');
});

t.test('LIMIT_EXCEEDED across several orders gives limit and purchased', async (t) => {
  const state = stateWithSale('s1', { stock: 100, perCustomerLimit: 2 });
  acceptedOrderId(step(state, order('s1', 'a', 1)));
  const tooMany = step(state, order('s1', 'a', 2));
  t.equal(rejectionCode(tooMany), 'LIMIT_EXCEEDED');
  t.same(tooMany.ok ? null : tooMany.rejection.details, { limit: 2, purchased: 1 });
  acceptedOrderId(step(state, order('s1', 'a', 1)));
  t.equal(
    rejectionCode(step(state, order('s1', 'a', 1))),
    'LIMIT_EXCEEDED',
    'a third unit is refused',
  );
  t.equal(rejectionCode(step(state, order('s1', 'b', 3))), 'LIMIT_EXCEEDED', 'one big order too');
  t.equal(viewCustomer(state, 's1', 'a')?.purchased, 2);
});

t.test('the cap is per sale', async (t) => {
  const state = stateWithSale('s1');
  step(state, {
    type: 'ConfigureSale',
    saleId: 's2',
    name: 'two',
    stock: 5,
    perCustomerLimit: 2,
    startsAt: null,
    endsAt: null,
    at: T0,
  });
  acceptedOrderId(step(state, order('s1', 'a', 2)));
  acceptedOrderId(step(state, order('s2', 'a', 2)));
  t.equal(viewSale(state, 's2', T0)?.remaining, 3);
});
