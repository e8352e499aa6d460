import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { readDeadLetters } from '../scripts/client/dead-letters.js';
import { waitForOrdersStream } from '../scripts/client/orders-stream.js';
import { ENGINE_RETRY_DELAY_MS } from '../shipping-agent/delivery-decision.js';
import { startEngine, type Teardown } from './helpers/nats.js';
import {
  followStatuses,
  placeOrders,
  startShippingStack,
  untilRecorded,
} from './helpers/shipping.js';

// The engine is killed while confirmed orders wait in ORDERS, and stays away longer than the
// agent's whole redelivery budget would last at one redelivery a second. A delivery keeps its
// message and tries the engine again (ENGINE_WAIT_MS): once the engine is back, every order ships,
// none spent a redelivery, none was dead-lettered. With ENGINE_WAIT_MS=0 the same outage
// dead-letters every order, which shows what the wait is for.

const ORDERS = 20;
const MAX_DELIVER = 2;
/**
 * Shorter than the outage: a held delivery must keep its message past it (heartbeats, every half
 * of it). Not shorter: an agent stalled past half of it on the shared CI machine would see a
 * message come again.
 */
const ACK_WAIT_MS = 2_000;
/** The outage (the scenario, not a wait for an event): past what MAX_DELIVER naks would last. */
const ENGINE_AWAY_MS = (MAX_DELIVER + 1) * ENGINE_RETRY_DELAY_MS;
const STREAM_WAIT_MS = 10_000;
const WAITING = 'engine unavailable; waiting for it';
const PUT_BACK = 'delivery put back; it comes again shortly';
/**
 * Few deliveries and a short ack wait. A dead engine answers "no responders" at once, so the
 * engine request timeout plays no part: left long, so that a slow lookup on a starved machine is
 * not taken for an engine away (the last test's short ENGINE_WAIT_MS would hand it back).
 */
const AGENT_ENV = {
  SHIPPING_MAX_DELIVER: String(MAX_DELIVER),
  SHIPPING_ACK_WAIT_MS: String(ACK_WAIT_MS),
  ENGINE_REQUEST_TIMEOUT_MS: '5000',
};

/** Orders confirmed and in ORDERS, the engine killed, then an agent started with `agentEnv`. */
async function ordersWithEngineAway(t: Teardown, saleId: string, agentEnv: Record<string, string>) {
  const stack = await startShippingStack(t, { sales: [saleId] });
  await stack.client.configureSale(saleId, { stock: ORDERS, perCustomerLimit: 1 });
  const statuses = followStatuses(stack.nc, saleId);
  const orderIds = await placeOrders(stack.client, saleId, ORDERS);
  const stored = await waitForOrdersStream(stack.nc, ORDERS, STREAM_WAIT_MS);
  if (stored.length < ORDERS) throw new Error(`only ${stored.length} orders reached ORDERS`);
  await stack.engine.kill('SIGKILL');
  const agent = await stack.startAgent({ ...AGENT_ENV, ...agentEnv });
  const restartEngine = () =>
    startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: [saleId] });
  return { stack, statuses, orderIds, agent, restartEngine };
}

/** The delivery numbers the agent's log lines name, in order. */
function deliveriesLogged(agent: { logs: readonly Record<string, unknown>[] }): unknown[] {
  const numbers = agent.logs.filter((line) => 'delivery' in line).map((line) => line.delivery);
  return [...new Set(numbers)].sort();
}

t.test('deliveries wait for a restarting engine instead of spending redeliveries', async (t) => {
  const { stack, statuses, orderIds, agent, restartEngine } = await ordersWithEngineAway(
    t,
    'away',
    {},
  );
  const waiting = () => agent.logs.filter((line) => line.msg === WAITING).length;
  await agent.waitForLog((line) => line.msg === WAITING && waiting() === ORDERS);
  await delay(ENGINE_AWAY_MS);
  await restartEngine();

  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const shipped = await stack.carrier.stats();
  t.ok(
    orderIds.every((id) => shipped.byOrder[id] === 1),
    'every order shipped, once',
  );
  t.equal(shipped.calls, ORDERS, 'one carrier call per order');
  t.same(await readDeadLetters(stack.nc), [], 'nothing dead-lettered');
  t.equal(agent.logs.filter((line) => line.msg === PUT_BACK).length, 0, 'no delivery handed back');
  t.equal(waiting(), ORDERS, 'one first delivery per order, each of which waited');
  t.same(deliveriesLogged(agent), [1], 'no order needed a second delivery');
});

t.test('without the wait (ENGINE_WAIT_MS=0) the same outage dead-letters', async (t) => {
  const { stack, statuses, orderIds, agent, restartEngine } = await ordersWithEngineAway(
    t,
    'no-wait',
    { ENGINE_WAIT_MS: '0' },
  );
  const putBack = () => agent.logs.filter((line) => line.msg === PUT_BACK).length;
  await agent.waitForLog((line) => line.msg === PUT_BACK && putBack() === ORDERS);
  await delay(ENGINE_AWAY_MS);
  await restartEngine();

  await statuses.until(orderIds, 'SHIPPING_FAILED');
  const letters = await readDeadLetters(stack.nc);
  t.same(
    letters.map((letter) => letter.orderId).sort(),
    [...orderIds].sort(),
    `every order dead-lettered after ${MAX_DELIVER} deliveries`,
  );
  t.ok(
    letters.every((letter) => letter.reason.startsWith('engine unavailable')),
    'each dead-lettered by its last delivery',
  );
  // That delivery keeps its message (heartbeats) while it waits to record SHIPPING_FAILED: had it
  // let the ack wait lapse, the message would have come a third time.
  t.same(deliveriesLogged(agent), [1, 2], `no delivery past the ${MAX_DELIVER}th`);
  t.equal(agent.logs.filter((line) => line.msg === WAITING).length, 0, 'no delivery waited');
});

t.test('an agent stopped while it waits hands its deliveries back at once', async (t) => {
  const { stack, statuses, orderIds, agent, restartEngine } = await ordersWithEngineAway(
    t,
    'stop',
    {},
  );
  const waiting = () => agent.logs.filter((line) => line.msg === WAITING).length;
  await agent.waitForLog((line) => line.msg === WAITING && waiting() === ORDERS);
  const exit = await agent.kill('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'the agent stopped cleanly, within its grace period');
  t.equal(
    agent.logs.filter((line) => line.msg === PUT_BACK).length,
    ORDERS,
    'every delivery in hand was handed back',
  );
  t.same(await readDeadLetters(stack.nc), [], 'nothing dead-lettered');

  await restartEngine();
  await stack.startAgent();
  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const shipped = await stack.carrier.stats();
  t.ok(
    orderIds.every((id) => shipped.byOrder[id] === 1),
    'the next agent shipped every order, once',
  );
});

t.test('an order the carrier took waits for the engine as long as the agent runs', async (t) => {
  // The engine goes away while the carrier holds the calls (a random latency of up to
  // CARRIER_LATENCY_MS_MAX each), and stays away longer than ENGINE_WAIT_MS: the shipments made
  // meanwhile must still be recorded, not handed back to call the carrier again, nor dead-lettered.
  const CARRIER_LATENCY_MS_MAX = 2_000;
  const ENGINE_WAIT_MS = 500;
  const stack = await startShippingStack(t, {
    sales: ['taken'],
    carrierEnv: { CARRIER_LATENCY_MS_MAX: String(CARRIER_LATENCY_MS_MAX) },
  });
  await stack.client.configureSale('taken', { stock: ORDERS, perCustomerLimit: 1 });
  const orderIds = await placeOrders(stack.client, 'taken', ORDERS);
  const agent = await stack.startAgent({ ...AGENT_ENV, ENGINE_WAIT_MS: String(ENGINE_WAIT_MS) });
  // The carrier counts calls on arrival; JetStream and the fake carrier offer no event for it.
  while ((await stack.carrier.stats()).calls < ORDERS) await delay(20);
  await stack.engine.kill('SIGKILL');
  await delay(ENGINE_AWAY_MS);
  await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: ['taken'] });

  // Read from the engine: a report made durable just before the kill may never be announced.
  await untilRecorded(stack.client, 'taken', orderIds, 'SHIPPING_REQUESTED');
  const shipped = await stack.carrier.stats();
  t.equal(shipped.calls, ORDERS, 'one carrier call per order');
  t.ok(
    agent.logs.some((line) => line.msg === WAITING),
    'some shipments came back while the engine was away',
  );
  t.equal(agent.logs.filter((line) => line.msg === PUT_BACK).length, 0, 'none handed back');
  t.same(await readDeadLetters(stack.nc), [], 'nothing dead-lettered');
});
