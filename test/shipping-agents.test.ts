import t from 'tap';
import { followStatuses, placeOrders, startShippingStack } from './helpers/shipping.js';

// Agents die and run side by side: SIGKILL in the middle of deliveries, round after round, and
// two agents sharing the consumer — no order lost, none shipped twice. And the order path never
// waits for the carrier.

const CRASH_ROUNDS = 4;
const CRASH_ORDERS = 300;
const SHIPMENTS_PER_ROUND = 30;
const SHARED_ORDERS = 300;
const STALLED_ORDERS = 200;
const STALL_WAIT_MS = 10_000;
const STALL_POLL_MS = 20;
const GRACEFUL_ORDERS = 200;

t.test(
  'SIGKILL mid-delivery, round after round: nothing lost, nothing shipped twice',
  async (t) => {
    const stack = await startShippingStack(t, {
      sales: ['crash'],
      // Slow enough that every kill lands on calls in flight; some replies get lost, so the
      // redelivery must rely on the carrier's idempotency, not on our own records.
      carrierEnv: { CARRIER_LATENCY_MS_MAX: '400', CARRIER_LOST_REPLY_RATE: '0.1' },
    });
    await stack.client.configureSale('crash', { stock: CRASH_ORDERS, perCustomerLimit: 1 });
    const statuses = followStatuses(stack.nc, 'crash');
    await stack.nc.flush();
    const orderIds = await placeOrders(stack.client, 'crash', CRASH_ORDERS);

    for (let round = 1; round <= CRASH_ROUNDS; round += 1) {
      const agent = await stack.startAgent();
      await agent.waitForLog(
        () =>
          agent.logs.filter((l) => l.msg === 'shipment requested').length >= SHIPMENTS_PER_ROUND,
      );
      const inFlight = (await stack.carrier.stats()).inFlight;
      await agent.kill('SIGKILL');
      t.comment(`round ${round}: killed with ${inFlight} carrier calls in flight`);
    }
    await stack.startAgent();
    await statuses.until(orderIds, 'SHIPPING_REQUESTED');
    const stats = await stack.carrier.stats();
    t.same(
      orderIds.filter((id) => stats.byOrder[id] !== 1),
      [],
      'every order shipped exactly once',
    );
    t.equal(stats.total, CRASH_ORDERS);
  },
);

t.test('two agents share the work; each order ships once', async (t) => {
  const stack = await startShippingStack(t, {
    sales: ['pair'],
    carrierEnv: { CARRIER_LATENCY_MS_MAX: '50', CARRIER_FAILURE_RATE: '0.2' },
  });
  await stack.client.configureSale('pair', { stock: SHARED_ORDERS, perCustomerLimit: 1 });
  const statuses = followStatuses(stack.nc, 'pair');
  await stack.nc.flush();
  const agents = [
    await stack.startAgent({ AGENT_ID: 'a' }),
    await stack.startAgent({ AGENT_ID: 'b' }),
  ];
  const orderIds = await placeOrders(stack.client, 'pair', SHARED_ORDERS);
  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const stats = await stack.carrier.stats();
  t.same(
    orderIds.filter((id) => stats.byOrder[id] !== 1),
    [],
    'every order shipped exactly once',
  );
  for (const agent of agents) {
    const shipped = agent.logs.filter((l) => l.msg === 'shipment requested').length;
    t.ok(shipped > 0, `agent ${agent.logs[0]?.agentId} shipped ${shipped}`);
  }
});

t.test('orders are accepted while every carrier call hangs', async (t) => {
  const stack = await startShippingStack(t, {
    sales: ['stall'],
    carrierEnv: { CARRIER_TIMEOUT_RATE: '1' },
  });
  await stack.client.configureSale('stall', { stock: STALLED_ORDERS, perCustomerLimit: 1 });
  await stack.startAgent({ CARRIER_HEADERS_TIMEOUT_MS: '60000', BREAKER_TIMEOUT_MS: '60000' });
  // The agent is stuck in a hanging carrier call before the burst starts. The carrier has no
  // event to await, so its counters are polled, bounded.
  await stack.client.placeOrder('stall', 'first');
  const deadline = Date.now() + STALL_WAIT_MS;
  while ((await stack.carrier.stats()).inFlight === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, STALL_POLL_MS));
  const orderIds = await placeOrders(stack.client, 'stall', STALLED_ORDERS - 1);
  t.equal(orderIds.length, STALLED_ORDERS - 1, 'every order accepted');
  const stats = await stack.carrier.stats();
  t.ok(stats.inFlight > 0, `while ${stats.inFlight} carrier calls were still hanging`);
  t.equal(stats.total, 0, 'and not one shipment had been made');
});

t.test('SIGTERM: the agent finishes the deliveries in hand and exits 0', async (t) => {
  const stack = await startShippingStack(t, {
    sales: ['term'],
    carrierEnv: { CARRIER_LATENCY_MS_MAX: '300' },
  });
  await stack.client.configureSale('term', { stock: GRACEFUL_ORDERS, perCustomerLimit: 1 });
  const statuses = followStatuses(stack.nc, 'term');
  await stack.nc.flush();
  const orderIds = await placeOrders(stack.client, 'term', GRACEFUL_ORDERS);
  const agent = await stack.startAgent();
  await agent.waitForLog(() => agent.logs.some((l) => l.msg === 'shipment requested'));
  await agent.kill('SIGTERM');
  t.same(await agent.exited, { code: 0, signal: null }, 'exit code 0');
  t.ok(
    agent.logs.some((l) => l.msg === 'shipping agent stopped'),
    'after saying it stopped',
  );
  t.same(
    agent.logs.filter((l) => l.level >= 50).map((l) => l.msg),
    [],
    'no errors on the way out',
  );

  await stack.startAgent();
  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const stats = await stack.carrier.stats();
  t.same(
    orderIds.filter((id) => stats.byOrder[id] !== 1),
    [],
    'a second agent finished the rest; each order shipped exactly once',
  );
});
