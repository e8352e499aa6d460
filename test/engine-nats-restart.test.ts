import t from 'tap';
import type { CommandReply } from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { waitForOrdersStream } from '../scripts/client/orders-stream.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// NATS itself dies mid-burst (SIGKILL) and comes back on the same port and store: the engine
// reconnects and goes on, nothing acknowledged is lost, and the outbox catches up so that ORDERS
// holds every order exactly once.

const CUSTOMERS_PER_PHASE = 300;
const OUTBOX_WAIT_MS = 30_000;
/** Requests sent while NATS is down or just back: given up soon, as their replies may be lost. */
const OUTAGE_REQUEST_TIMEOUT_MS = 3_000;
/** Once the engine serves again, every order must be accepted: a starved machine gets time. */
const SERVING_REQUEST_TIMEOUT_MS = 30_000;
/** nats.js's default JetStream request timeout, which the lease deletes wait out with NATS down. */
const JETSTREAM_TIMEOUT_MS = 5_000;

const acceptedIds = (replies: PromiseSettledResult<CommandReply>[]) =>
  replies.flatMap((r) =>
    r.status === 'fulfilled' && r.value.ok && r.value.kind === 'order'
      ? [r.value.order.orderId]
      : [],
  );

t.test('the engine survives a NATS restart mid-burst and the outbox catches up', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const client = new EngineClient(nc);
  await startEngine(t, {
    natsUrl: nats.url,
    walDir: await tempDir(t, 'wal'),
    sales: ['restart'],
  });
  await client.configureSale('restart', { stock: 100_000, perCustomerLimit: 2 });

  const burst = (phase: string, timeoutMs: number) =>
    Promise.allSettled(
      Array.from({ length: CUSTOMERS_PER_PHASE }, (_, i) =>
        client.command(
          'restart',
          { type: 'PlaceOrder', customerId: `${phase}${i}`, quantity: 1 },
          timeoutMs,
        ),
      ),
    );
  const firstBurst = burst('a', OUTAGE_REQUEST_TIMEOUT_MS);
  // Kill NATS while the first burst is in flight: the engine may decide requests whose replies
  // are then lost, so the audit below counts what it holds, not only what was acknowledged.
  await nats.kill();
  const first = acceptedIds(await firstBurst);
  const during = acceptedIds(await burst('b', OUTAGE_REQUEST_TIMEOUT_MS));
  await nats.restart();
  // Like a client with a retry policy: ask until the engine answers again (bounded).
  const servingBy = Date.now() + OUTBOX_WAIT_MS;
  let probe: CommandReply | null = null;
  while (probe?.ok !== true && Date.now() < servingBy) {
    probe = await client
      // One key for every try: a try that timed out after the engine took it is the same order,
      // not one more against the probe's cap of 2.
      .command(
        'restart',
        { type: 'PlaceOrder', customerId: 'probe', quantity: 1, idempotencyKey: 'probe' },
        1_000,
      )
      .catch(() => null);
    if (probe?.ok !== true) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(probe?.ok, 'the engine serves again after NATS came back');
  const third = acceptedIds(await burst('c', SERVING_REQUEST_TIMEOUT_MS));
  t.equal(
    third.length,
    CUSTOMERS_PER_PHASE,
    `every order of the next burst is accepted (${first.length}/${during.length} before)`,
  );
  if (probe?.ok && probe.kind === 'order') third.push(probe.order.orderId);

  const acknowledged = [...first, ...during, ...third];
  for (const orderId of acknowledged) {
    const reply = await client.query('restart', { type: 'GetOrder', orderId });
    if (!reply.ok) t.fail(`acknowledged order ${orderId} is lost`);
  }
  const sale = await client.sale('restart');
  const sold = sale.stock - sale.remaining;
  t.ok(
    sold >= acknowledged.length,
    `every acknowledged order is held (${acknowledged.length} acknowledged, ${sold} sold)`,
  );

  const stored = await waitForOrdersStream(nc, sold, OUTBOX_WAIT_MS);
  const ids = stored.map((m) => m.orderId);
  t.equal(ids.length, sold, 'ORDERS caught up with every order');
  t.equal(new Set(ids).size, ids.length, 'and holds each exactly once');
  t.ok(
    acknowledged.every((id) => ids.includes(id)),
    'every acknowledged order is in ORDERS',
  );
});

t.test('an engine told to stop while NATS is down still stops cleanly', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const client = new EngineClient(nc);
  const walDir = await tempDir(t, 'wal');
  const sales = ['down-a', 'down-b', 'down-c'];
  const engine = await startEngine(t, { natsUrl: nats.url, walDir, sales });
  const acknowledged: { saleId: string; orderId: string }[] = [];
  for (const saleId of sales) {
    await client.configureSale(saleId, { stock: 10, perCustomerLimit: 2 });
    const reply = await client.command(saleId, {
      type: 'PlaceOrder',
      customerId: 'c1',
      quantity: 1,
    });
    if (reply.ok && reply.kind === 'order')
      acknowledged.push({ saleId, orderId: reply.order.orderId });
  }
  t.equal(acknowledged.length, sales.length, 'one order acknowledged per sale');

  await nats.kill();
  // Neither the leases nor the connection can be let go properly; the stop must not hang on them
  // nor call itself a failure: everything owed is on disk.
  const exit = await engine.kill('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'the engine exits with 0');
  t.ok(
    engine.logs.some((line) => line.msg === 'engine stopped'),
    'after closing its WAL and saying so',
  );
  // Each release waits out the JetStream timeout (5 s) in vain: one after another they would
  // give up 5 s apart, side by side together.
  const gaveUp = engine.logs
    .filter((line) => line.msg === 'could not release the sale lease')
    .map((line) => line.time);
  t.equal(gaveUp.length, sales.length, 'every lease release was tried');
  t.ok(
    Math.max(...gaveUp) - Math.min(...gaveUp) < JETSTREAM_TIMEOUT_MS / 2,
    'side by side, not one timeout after another',
  );

  await nats.restart();
  await startEngine(t, { natsUrl: nats.url, walDir, sales });
  for (const { saleId, orderId } of acknowledged) {
    const reply = await client.query(saleId, { type: 'GetOrder', orderId });
    t.ok(reply.ok, `order ${orderId} of ${saleId} is there after the restart`);
  }
});
