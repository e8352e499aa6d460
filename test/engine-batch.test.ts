import type { NatsConnection } from '@nats-io/transport-node';
import t from 'tap';
import {
  type BatchReply,
  type CommandReply,
  decodeReply,
  encodeMessage,
  ORDER_BATCH_ORDERS_MAX,
  type PlaceOrderRequest,
  saleCommandSubject,
} from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { randomInt, seededRandom } from '../scripts/client/seeded-random.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// `PlaceOrders` on `sale.<id>.cmd`: a batch of orders is decided exactly as the same orders sent
// one by one, in batch order — same outcomes, same order ids, same idempotency (I5), same stock
// and cap (I1, I2) — and its accepted orders survive kill -9 like single ones (I3).

const SEED = 20_240_611;
const STOCK_UNITS = 40;
const CAP_UNITS = 3;
const CUSTOMERS = 15;
const ORDERS = 120;

async function placeBatch(
  nc: NatsConnection,
  saleId: string,
  orders: readonly PlaceOrderRequest[],
): Promise<CommandReply[]> {
  const msg = await nc.request(
    saleCommandSubject(saleId),
    encodeMessage({ type: 'PlaceOrders', orders }),
    { timeout: 10_000 },
  );
  const reply = decodeReply<BatchReply>(msg.data);
  if (!reply.ok) throw new Error(`batch refused: ${JSON.stringify(reply)}`);
  if (reply.kind !== 'batch') throw new Error(`not a batch reply: ${JSON.stringify(reply)}`);
  return [...reply.replies];
}

const sequenceOf = (orderId: string): number => Number(orderId.split('~')[1]);

/** What must be the same whichever way an order arrived (createdAt and the sale id may differ). */
function outcome(reply: CommandReply) {
  if (!reply.ok) return { ok: false, code: reply.error.code };
  if (reply.kind !== 'order') return { ok: true, kind: reply.kind };
  const { order, replayed } = reply;
  return {
    ok: true,
    customerId: order.customerId,
    quantity: order.quantity,
    status: order.status,
    seq: sequenceOf(order.orderId),
    replayed,
  };
}

/**
 * A seeded mix of orders: fresh orders with and without keys, exact retries of earlier keyed
 * orders (same key, same body) and key reuses with another body, over few enough customers and
 * little enough stock that caps and the stock both run out.
 */
function generateOrders(seed: number): PlaceOrderRequest[] {
  const random = seededRandom(seed);
  const orders: PlaceOrderRequest[] = [];
  const keyed: PlaceOrderRequest[] = [];
  let nextKey = 0;
  while (orders.length < ORDERS) {
    const dice = random();
    const earlier = keyed[Math.floor(random() * keyed.length)];
    if (earlier !== undefined && dice < 0.15) {
      orders.push({ ...earlier }); // a retry
      continue;
    }
    if (earlier !== undefined && dice < 0.25) {
      const quantity = (earlier.quantity % 3) + 1; // another body, same key
      orders.push({ ...earlier, quantity, requestHash: `q=${quantity}` });
      continue;
    }
    const customerId = `c${randomInt(random, 1, CUSTOMERS)}`;
    const quantity = randomInt(random, 1, 3);
    if (dice < 0.6) {
      orders.push({ type: 'PlaceOrder', customerId, quantity });
      continue;
    }
    const order: PlaceOrderRequest = {
      type: 'PlaceOrder',
      customerId,
      quantity,
      idempotencyKey: `k${nextKey++}`,
      requestHash: `q=${quantity}`,
    };
    orders.push(order);
    keyed.push(order);
  }
  return orders;
}

t.test('a batch is decided as the same orders one by one', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const sales = ['batched', 'single'] as const;
  await startEngine(t, { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: [...sales] });
  const client = new EngineClient(nc);
  for (const saleId of sales) {
    const configured = await client.configureSale(saleId, {
      stock: STOCK_UNITS,
      perCustomerLimit: CAP_UNITS,
    });
    t.ok(configured.ok, `${saleId} configured`);
  }
  const orders = generateOrders(SEED);
  t.ok(orders.length <= ORDER_BATCH_ORDERS_MAX, 'the orders fit in one batch');

  const batched = await placeBatch(nc, 'batched', orders);
  const single: CommandReply[] = [];
  for (const order of orders) single.push(await client.command('single', order));

  t.equal(batched.length, orders.length, 'one reply per order');
  const batchedOutcomes = batched.map(outcome);
  const singleOutcomes = single.map(outcome);
  t.same(batchedOutcomes, singleOutcomes, 'the same outcomes, replays and order ids, in order');
  batched.forEach((reply, i) => {
    if (reply.ok && reply.kind === 'order')
      t.equal(reply.order.saleId, 'batched', `reply ${i} is an order of the batched sale`);
  });

  // The mix must really exercise what it claims to, or the comparison proves little.
  const codes = new Set<string>(single.map((r) => (r.ok ? 'OK' : r.error.code)));
  for (const code of ['OK', 'LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_REUSED', 'SOLD_OUT'])
    t.ok(codes.has(code), `the mix yields ${code}`);
  t.ok(
    single.some((r) => r.ok && r.kind === 'order' && r.replayed),
    'the mix yields idempotent replays',
  );

  const [saleA, saleB] = await Promise.all([client.sale('batched'), client.sale('single')]);
  const acceptedUnits = batched.reduce(
    (sum, r) => sum + (r.ok && r.kind === 'order' && !r.replayed ? r.order.quantity : 0),
    0,
  );
  t.equal(saleA.remaining, saleB.remaining, 'both sales have the same stock left');
  t.equal(saleA.remaining, STOCK_UNITS - acceptedUnits, 'remaining = stock - accepted units');

  let soldUnits = 0;
  for (let c = 1; c <= CUSTOMERS; c += 1) {
    const customerId = `c${c}`;
    const [a, b] = await Promise.all([
      client.customer('batched', customerId),
      client.customer('single', customerId),
    ]);
    const held = (customer: typeof a) =>
      customer.orders.map((o) => [sequenceOf(o.orderId), o.customerId, o.quantity, o.status]);
    t.same(held(a), held(b), `${customerId}: the same orders in both sales`);
    t.equal(a.purchased, b.purchased, `${customerId}: the same units`);
    t.equal(
      a.purchased,
      a.orders.reduce((sum, o) => sum + o.quantity, 0),
      `${customerId}: purchased is the sum of the orders`,
    );
    t.ok(a.purchased <= CAP_UNITS, `I2: ${customerId} has ${a.purchased} <= ${CAP_UNITS}`);
    soldUnits += a.purchased;
  }
  t.equal(soldUnits, acceptedUnits, 'every accepted unit belongs to a customer');
  t.ok(soldUnits <= STOCK_UNITS, `I1: sold ${soldUnits} <= stock ${STOCK_UNITS}`);
});

t.test('idempotency within one batch', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  await startEngine(t, { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: ['idem'] });
  const client = new EngineClient(nc);
  await client.configureSale('idem', { stock: 10, perCustomerLimit: 2 });

  const order = (customerId: string, quantity: number, key: string): PlaceOrderRequest => ({
    type: 'PlaceOrder',
    customerId,
    quantity,
    idempotencyKey: key,
    requestHash: `q=${quantity}`,
  });
  const replies = await placeBatch(nc, 'idem', [
    order('ann', 1, 'k1'),
    order('ann', 1, 'k1'), // a retry in the same batch
    order('ann', 2, 'k1'), // the same key, another body
    order('bob', 1, 'k1'), // keys are per customer
    order('cat', 3, 'k2'), // over the cap: refused, binds no key
    order('cat', 1, 'k2'), // so this is decided afresh
  ]);
  const [first, retry, reused, bob, overCap, afresh] = replies;
  if (!first?.ok || first.kind !== 'order') throw new Error(JSON.stringify(first));
  t.equal(first.replayed, false, 'the first order is new');
  if (!retry?.ok || retry.kind !== 'order') throw new Error(JSON.stringify(retry));
  t.equal(retry.replayed, true, 'the retry is a replay');
  t.equal(retry.order.orderId, first.order.orderId, 'of the same order');
  t.equal(reused?.ok ? 'accepted' : reused?.error.code, 'IDEMPOTENCY_KEY_REUSED');
  if (!bob?.ok || bob.kind !== 'order') throw new Error(JSON.stringify(bob));
  t.equal(bob.replayed, false, "another customer's key is another order");
  t.not(bob.order.orderId, first.order.orderId);
  t.equal(overCap?.ok ? 'accepted' : overCap?.error.code, 'LIMIT_EXCEEDED');
  if (!afresh?.ok || afresh.kind !== 'order') throw new Error(JSON.stringify(afresh));
  t.equal(afresh.replayed, false, 'a refused order bound no key');
  t.equal(afresh.order.quantity, 1);

  const ann = await client.customer('idem', 'ann');
  t.same(
    ann.orders.map((o) => [o.orderId, o.quantity]),
    [[first.order.orderId, 1]],
    'ann holds one order, not two',
  );
  t.equal((await client.sale('idem')).remaining, 7, 'three units sold (ann, bob, cat)');

  // The batch bound the key like a single order would: a later single retry replays it.
  const later = await client.placeOrder('idem', 'ann', 1, 'k1');
  if (!later.ok || later.kind !== 'order') throw new Error(JSON.stringify(later));
  t.equal(later.replayed, true, 'a later single retry replays');
  t.equal(later.order.orderId, first.order.orderId);
});

t.test('a batch survives kill -9 like single orders', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const options = { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: ['crash'] };
  const engine = await startEngine(t, options);
  const client = new EngineClient(nc);
  await client.configureSale('crash', { stock: 20, perCustomerLimit: 2 });

  // 30 orders over 12 customers: some pass the cap, the last ones find the stock gone.
  const orders: PlaceOrderRequest[] = Array.from({ length: 30 }, (_, i) => ({
    type: 'PlaceOrder',
    customerId: `c${i % 12}`,
    quantity: (i % 2) + 1,
    idempotencyKey: `key-${i}`,
    requestHash: `h-${i}`,
  }));
  const replies = await placeBatch(nc, 'crash', orders);
  const accepted = replies.flatMap((r) => (r.ok && r.kind === 'order' ? [r.order] : []));
  t.ok(accepted.length > 0 && accepted.length < orders.length, 'some accepted, some refused');
  const soldBefore = 20 - (await client.sale('crash')).remaining;

  const killed = await engine.kill('SIGKILL');
  t.equal(killed.signal, 'SIGKILL', 'the engine was killed');
  await startEngine(t, options);

  const sale = await client.sale('crash');
  t.equal(20 - sale.remaining, soldBefore, 'the same units sold after the restart');
  t.equal(
    soldBefore,
    accepted.reduce((sum, o) => sum + o.quantity, 0),
    'exactly the accepted units were sold',
  );
  for (const order of accepted) {
    const read = await client.query('crash', { type: 'GetOrder', orderId: order.orderId });
    if (!read.ok || read.kind !== 'order') {
      t.fail(`${order.orderId} lost: ${JSON.stringify(read)}`);
      continue;
    }
    t.same(
      [read.order.customerId, read.order.quantity, read.order.createdAt],
      [order.customerId, order.quantity, order.createdAt],
      `${order.orderId} survived`,
    );
  }
  const customers = await Promise.all(
    Array.from({ length: 12 }, (_, c) => client.customer('crash', `c${c}`)),
  );
  t.same(
    customers.flatMap((c) => c.orders.map((o) => o.orderId)).sort(),
    accepted.map((o) => o.orderId).sort(),
    'no order invented, none lost',
  );
  t.ok(
    customers.every((c) => c.purchased <= 2),
    'I2 holds after the restart',
  );

  // The keys bound by the batch survived too: retrying the whole batch replays, places nothing.
  const retried = await placeBatch(nc, 'crash', orders);
  retried.forEach((reply, i) => {
    const original = replies[i]!;
    if (original.ok && original.kind === 'order') {
      t.ok(reply.ok && reply.kind === 'order' && reply.replayed, `order ${i}: the retry replays`);
      if (reply.ok && reply.kind === 'order') t.equal(reply.order.orderId, original.order.orderId);
    } else t.notOk(reply.ok, `order ${i}: refused before, refused again`);
  });
  t.equal((await client.sale('crash')).remaining, sale.remaining, 'the retry sold nothing');
});
