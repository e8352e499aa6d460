import { jetstreamManager } from '@nats-io/jetstream';
import t from 'tap';
import { ORDERS_STREAM } from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// A full outbox backlog (JetStream not taking the confirmed orders) refuses NEW orders only:
// they would add to the backlog. A retry of a stored order is answered with that order (I5), and
// a request refused for its own reasons hears that reason: neither writes anything.

const BACKLOG_MAX = 1;

t.test('with the outbox full, replays and rejections are answered as ever', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const engine = await startEngine(t, {
    natsUrl: nats.url,
    walDir: await tempDir(t, 'wal'),
    sales: ['full'],
    env: { OUTBOX_BACKLOG_MAX: String(BACKLOG_MAX) },
  });
  const client = new EngineClient(nc);
  await client.configureSale('full', { stock: 10, perCustomerLimit: 2 });

  // JetStream refuses the outbox (the stream is gone): the first order fills the backlog.
  await (await jetstreamManager(nc)).streams.delete(ORDERS_STREAM);
  const placed = await client.placeOrder('full', 'ann', 1, 'key-1');
  if (!placed.ok || placed.kind !== 'order') throw new Error(JSON.stringify(placed));
  await engine.waitForLog((line) => line.msg.startsWith('outbox cannot reach JetStream'));

  const fresh = await client.placeOrder('full', 'bob', 1, 'key-2');
  t.match(fresh, { ok: false, error: { code: 'OVERLOADED' } }, 'a new order is refused');

  const retry = await client.placeOrder('full', 'ann', 1, 'key-1');
  t.match(
    retry,
    { ok: true, kind: 'order', replayed: true, order: { orderId: placed.order.orderId } },
    'the retry gets the stored order',
  );
  const reused = await client.placeOrder('full', 'ann', 2, 'key-1');
  t.match(reused, { ok: false, error: { code: 'IDEMPOTENCY_KEY_REUSED' } }, 'key reuse is told');
  const overCap = await client.placeOrder('full', 'cat', 3);
  t.match(overCap, { ok: false, error: { code: 'LIMIT_EXCEEDED' } }, 'over the cap is told');
  t.equal((await client.sale('full')).remaining, 9, 'one order placed in all');
});
