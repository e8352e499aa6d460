import t from 'tap';
import { createSale, http, startStack } from './helpers/stack.js';

// Every route of DESIGN.md's HTTP API through a real gateway process, a real engine and NATS.

t.test('the order path: create, buy, replay, read', async (t) => {
  const stack = await startStack(t, { sales: ['r'] });
  const base = stack.gateways[0]!.url;
  await createSale(stack, 'r', { stock: 5, perCustomerLimit: 2, name: 'Routes' });
  const alice = stack.token('alice');

  const placed = await http(`${base}/v1/sales/r/orders`, {
    method: 'POST',
    token: alice,
    body: { quantity: 2 },
    headers: { 'idempotency-key': 'first' },
  });
  t.equal(placed.status, 201);
  t.match(placed.body, { saleId: 'r', customerId: 'alice', quantity: 2, status: 'CONFIRMED' });
  t.match(placed.body.orderId, /^r~\d+$/);
  t.ok(placed.headers.get('x-request-id'), 'a request id comes back');

  const replay = await http(`${base}/v1/sales/r/orders`, {
    method: 'POST',
    token: alice,
    body: { quantity: 2 },
    headers: { 'idempotency-key': 'first' },
  });
  t.equal(replay.status, 200, 'an idempotent replay is a 200');
  t.same(replay.body, placed.body, 'with the original order');

  const read = await http(`${base}/v1/orders/${placed.body.orderId}`, { token: alice });
  t.equal(read.status, 200);
  t.same(read.body, placed.body);

  const sale = await http(`${base}/v1/sales/r`);
  t.same(sale.body, {
    saleId: 'r',
    name: 'Routes',
    stock: 5,
    remaining: 3,
    perCustomerLimit: 2,
    status: 'OPEN',
  });
});
