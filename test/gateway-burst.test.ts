import t from 'tap';
import { waitForOrdersStream } from '../scripts/client/orders-stream.js';
import { createSale, http, startStack } from './helpers/stack.js';

// The opening second through HTTP: 3,000 concurrent requests from 1,000 customers over two
// gateway processes, for 100 units at 2 per customer.

const STOCK = 100;
const LIMIT = 2;
const CUSTOMERS = 1_000;
const REQUESTS = 3_000;
const OUTBOX_WAIT_MS = 20_000;
const EXPECTED_REJECTIONS = new Set(['SOLD_OUT', 'INSUFFICIENT_STOCK', 'LIMIT_EXCEEDED']);

t.test('two gateways sell exactly the stock, nobody above the cap', async (t) => {
  const stack = await startStack(t, {
    sales: ['opening'],
    gateways: 2,
    // The burst is the subject here, not the rate limit: it must not refuse a legitimate order.
    gatewayEnv: { RATE_LIMIT_MAX: '1000' },
  });
  await createSale(stack, 'opening', { stock: STOCK, perCustomerLimit: LIMIT });
  const tokens = Array.from({ length: CUSTOMERS }, (_, c) => stack.token(`c${c}`));

  // Customer c presses "buy" 1 + (c % 5) times at once: 3 per customer on average.
  const requests: { customer: number; quantity: number }[] = [];
  for (let c = 0; c < CUSTOMERS; c += 1) {
    for (let press = 0; press <= c % 5; press += 1)
      requests.push({ customer: c, quantity: 1 + ((c + press) % 2) });
  }
  t.equal(requests.length, REQUESTS);
  const replies = await Promise.all(
    requests.map(({ customer, quantity }, i) =>
      http(`${stack.gateways[i % 2]!.url}/v1/sales/opening/orders`, {
        method: 'POST',
        token: tokens[customer]!,
        body: { quantity },
        headers: { 'idempotency-key': `burst-${i}` },
      }),
    ),
  );

  const unitsByCustomer = new Map<number, number>();
  const accepted: { orderId: string; customer: number; quantity: number }[] = [];
  const codes = new Map<string, number>();
  replies.forEach((reply, i) => {
    const { customer, quantity } = requests[i]!;
    if (reply.status === 201) {
      accepted.push({ orderId: reply.body.orderId, customer, quantity });
      unitsByCustomer.set(customer, (unitsByCustomer.get(customer) ?? 0) + quantity);
    } else {
      const code = `${reply.status} ${reply.body?.error}`;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  });
  const sold = [...unitsByCustomer.values()].reduce((a, b) => a + b, 0);
  t.equal(sold, STOCK, 'exactly the stock was sold');
  t.ok(
    [...unitsByCustomer.values()].every((units) => units <= LIMIT),
    'nobody above the cap',
  );
  t.same(
    [...codes.keys()].filter((code) => !EXPECTED_REJECTIONS.has(code.split(' ')[1]!)),
    [],
    `only the expected rejections (${JSON.stringify(Object.fromEntries(codes))})`,
  );
  t.ok(
    replies.every((reply) => reply.status === 201 || reply.status === 409),
    'every rejection is a 409',
  );

  // Every 201 is readable afterwards through either gateway, by its owner.
  for (const gateway of stack.gateways) {
    const reads = await Promise.all(
      accepted.map(({ orderId, customer }) =>
        http(`${gateway.url}/v1/orders/${orderId}`, { token: tokens[customer]! }),
      ),
    );
    t.ok(
      reads.every(
        (read, i) =>
          read.status === 200 &&
          read.body.orderId === accepted[i]!.orderId &&
          read.body.quantity === accepted[i]!.quantity &&
          read.body.customerId === `c${accepted[i]!.customer}`,
      ),
      `all ${accepted.length} accepted orders read back through ${gateway.url}`,
    );
  }
  const sale = await http(`${stack.gateways[1]!.url}/v1/sales/opening`);
  t.match(sale.body, { remaining: 0, status: 'SOLD_OUT' });
  const stored = await waitForOrdersStream(stack.nc, accepted.length, OUTBOX_WAIT_MS);
  t.same(
    stored.map((m) => m.orderId).sort(),
    accepted.map((a) => a.orderId).sort(),
    'ORDERS holds each accepted order exactly once',
  );
});
