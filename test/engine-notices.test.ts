import type { NatsConnection } from '@nats-io/transport-node';
import t from 'tap';
import {
  type OrderStatusChange,
  type OrderStatusMessage,
  ordersStatusSubject,
} from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// `orders.status.<saleId>`: every durable status change is announced once, in log order, and the
// changes of one durable batch travel together (a burst must not cost one message per order).

const BURST_ORDERS = 1_000;

/** Collects the notices of one sale; `until(n)` resolves once n changes have arrived. */
function followStatuses(nc: NatsConnection, saleId: string) {
  const messages: OrderStatusMessage[] = [];
  const changes: OrderStatusChange[] = [];
  let wanted = Number.POSITIVE_INFINITY;
  let reached: () => void = () => undefined;
  nc.subscribe(ordersStatusSubject(saleId), {
    callback: (_e, msg) => {
      const message = msg.json<OrderStatusMessage>();
      messages.push(message);
      changes.push(...message.changes);
      if (changes.length >= wanted) reached();
    },
  });
  return {
    messages,
    changes,
    until(count: number): Promise<void> {
      wanted = count;
      return changes.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => {
            reached = resolve;
          });
    },
  };
}

t.test('each status change is announced once, after it is durable', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  await startEngine(t, { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: ['n'] });
  const client = new EngineClient(nc);
  await client.configureSale('n', { stock: 10, perCustomerLimit: 2 });
  const statuses = followStatuses(nc, 'n');
  await nc.flush();

  const placed = await client.placeOrder('n', 'alice', 2);
  if (!placed.ok || placed.kind !== 'order') throw new Error(JSON.stringify(placed));
  const { orderId } = placed.order;
  const delayed = await client.recordShippingStatus('n', orderId, 'SHIPPING_DELAYED', {
    message: 'the carrier is slow today',
  });
  t.ok(delayed.ok, 'delay recorded');
  const requested = await client.recordShippingStatus('n', orderId, 'SHIPPING_REQUESTED', {
    trackingId: 'TRACK-1',
  });
  t.ok(requested.ok, 'shipment recorded');
  const refused = await client.placeOrder('n', 'alice', 1);
  t.equal(refused.ok ? 'accepted' : refused.error.code, 'LIMIT_EXCEEDED');

  await statuses.until(3);
  t.same(
    statuses.changes.map((c) => [c.orderId, c.customerId, c.status, c.trackingId, c.message]),
    [
      [orderId, 'alice', 'CONFIRMED', null, null],
      [orderId, 'alice', 'SHIPPING_DELAYED', null, 'the carrier is slow today'],
      [orderId, 'alice', 'SHIPPING_REQUESTED', 'TRACK-1', null],
    ],
  );
  t.ok(
    statuses.messages.every((m) => m.type === 'orderStatus' && m.saleId === 'n'),
    'typed and addressed to the sale',
  );
  const order = await client.query('n', { type: 'GetOrder', orderId });
  if (!order.ok || order.kind !== 'order') throw new Error(JSON.stringify(order));
  t.same(
    statuses.changes.map((c) => c.at),
    order.order.history.map((h) => h.at),
    'the times are those of the order history',
  );
});

t.test('a burst of orders is announced in few messages, each order once', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  await startEngine(t, { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: ['b'] });
  const client = new EngineClient(nc);
  await client.configureSale('b', { stock: BURST_ORDERS, perCustomerLimit: 1 });
  const statuses = followStatuses(nc, 'b');
  await nc.flush();

  const replies = await Promise.all(
    Array.from({ length: BURST_ORDERS }, (_, i) => client.placeOrder('b', `c${i}`)),
  );
  const accepted = replies.flatMap((r) => (r.ok && r.kind === 'order' ? [r.order.orderId] : []));
  t.equal(accepted.length, BURST_ORDERS, 'every order accepted');
  await statuses.until(BURST_ORDERS);

  t.same(
    statuses.changes.map((c) => c.orderId).sort(),
    [...accepted].sort(),
    'every accepted order announced exactly once',
  );
  const seqs = statuses.changes.map((c) => Number(c.orderId.split('~')[1]));
  t.same(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'in log order',
  );
  t.ok(
    statuses.messages.length < BURST_ORDERS / 4,
    `changes travel in batches (${statuses.messages.length} messages for ${BURST_ORDERS} orders)`,
  );
});
