import { setTimeout as delay } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import t from 'tap';
import { ORDERS_STREAM, SHIPPING_CONSUMER } from '../engine/protocol/index.js';
import { readDeadLetters } from '../scripts/client/dead-letters.js';
import { waitForOrdersStream } from '../scripts/client/orders-stream.js';
import type { LogLine } from '../scripts/stack/engine-process.js';
import { startEngine, type Teardown, tempDir } from './helpers/nats.js';
import { followStatuses, placeOrders, startShippingStack } from './helpers/shipping.js';

// Two sales on two engines, one agent with two slots. The north engine is killed while the
// orders of both wait in ORDERS, north's first: the agent's deliveries of north orders wait for
// their engine, and while they wait they give their slots up, so the south orders ship with the
// north engine still away; once it is back, the north orders ship too, each taking a slot again
// first (never more carrier calls at once than the agent's slots). With
// SHIPPING_ENGINE_WAITERS_MAX=0 the waiting deliveries keep their slots, and no south order is
// even delivered until the north engine is back: what the setting is for.

/** More than the slots: when their engine is back, they must queue for slots again. */
const NORTH = 6;
const SOUTH = 4;
const CONCURRENCY = 2;
const STREAM_WAIT_MS = 10_000;
const CONSUMER_POLL_MS = 50;
/** Carrier calls take up to this long, so that calls made at about the same time overlap. */
const CARRIER_LATENCY_MS_MAX = 200;
/** Bounds the test if south waited for the whole ENGINE_WAIT_MS below (it must not). */
const TEST_TIMEOUT_MS = 120_000;
const WAITING = 'engine unavailable; waiting for it';
const PUT_BACK = 'delivery put back; it comes again shortly';
const SHIPPED = 'shipment requested';
/** The killed engine answers "no responders" at once; a long timeout keeps a slow south lookup from looking like an engine away. */
const AGENT_ENV = {
  SHIPPING_CONCURRENCY: String(CONCURRENCY),
  SHIPPING_ENGINE_WAITERS_MAX: '64',
  ENGINE_REQUEST_TIMEOUT_MS: '5000',
};

/** The shipping stack with its engine serving north, a second engine serving south. */
async function twoEngines(t: Teardown, carrierEnv: Readonly<Record<string, string>>) {
  const stack = await startShippingStack(t, { sales: ['north'], carrierEnv });
  await startEngine(t, {
    natsUrl: stack.nats.url,
    walDir: await tempDir(t, 'wal-south'),
    sales: ['south'],
  });
  for (const sale of ['north', 'south'])
    await stack.client.configureSale(sale, { stock: 100, perCustomerLimit: 1 });
  return stack;
}

/** North's and south's orders in ORDERS (north's first), then north's engine killed. */
async function northAway(t: Teardown) {
  const stack = await twoEngines(t, { CARRIER_LATENCY_MS_MAX: String(CARRIER_LATENCY_MS_MAX) });
  const north = await placeOrders(stack.client, 'north', NORTH);
  const south = await placeOrders(stack.client, 'south', SOUTH);
  const stored = await waitForOrdersStream(stack.nc, NORTH + SOUTH, STREAM_WAIT_MS);
  if (stored.length < NORTH + SOUTH) throw new Error(`only ${stored.length} orders in ORDERS`);
  await stack.engine.kill('SIGKILL');
  return { stack, north, south };
}

const shippedOf = (logs: readonly LogLine[], orderIds: readonly string[]) =>
  logs.filter((line) => line.msg === SHIPPED && orderIds.includes(line.orderId as string));

t.test(
  "deliveries waiting for one engine leave their slots to another engine's orders",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const { stack, north, south } = await northAway(t);
    const northStatuses = followStatuses(stack.nc, 'north');
    const agent = await stack.startAgent({ ...AGENT_ENV, ENGINE_WAIT_MS: '600000' });

    await agent.waitForLog(() => shippedOf(agent.logs, south).length === SOUTH);
    t.equal(agent.logs.filter((line) => line.msg === PUT_BACK).length, 0, 'nothing handed back');
    t.equal(
      agent.logs.filter((line) => line.msg === WAITING && north.includes(line.orderId as string))
        .length,
      NORTH,
      'every north order is in hand, waiting for its engine',
    );
    t.equal(shippedOf(agent.logs, north).length, 0, 'no north order shipped without its engine');

    await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: ['north'] });
    await northStatuses.until(north, 'SHIPPING_REQUESTED');
    const shipped = await stack.carrier.stats();
    t.ok(
      [...north, ...south].every((id) => shipped.byOrder[id] === 1),
      'every order shipped, once',
    );
    t.same(await readDeadLetters(stack.nc), [], 'nothing dead-lettered');
    t.ok(
      shipped.inFlightMax <= CONCURRENCY,
      `back from their wait, the ${NORTH} north deliveries took slots again: at most ` +
        `${CONCURRENCY} carrier calls at once (${shipped.inFlightMax})`,
    );
  },
);

t.test(
  'with SHIPPING_ENGINE_WAITERS_MAX=0 the north deliveries starve the south orders',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const { stack, north, south } = await northAway(t);
    const statuses = [followStatuses(stack.nc, 'north'), followStatuses(stack.nc, 'south')];
    // Long enough for each delivery to wait at least once (a try each ENGINE_RETRY_DELAY_MS).
    const agent = await stack.startAgent({
      ...AGENT_ENV,
      ENGINE_WAIT_MS: '2500',
      SHIPPING_ENGINE_WAITERS_MAX: '0',
    });
    // North's deliveries keep both slots while they wait, give their messages back, and those
    // come again (JetStream redelivers before it hands out new messages) ahead of south's.
    await agent.waitForLog((line) => line.msg === WAITING && line.delivery === 2);
    const ofSouth = agent.logs.filter((line) => south.includes(line.orderId as string));
    t.same(ofSouth, [], 'no south order delivered while north was away, not even once');

    await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: ['north'] });
    await statuses[0]!.until(north, 'SHIPPING_REQUESTED');
    await statuses[1]!.until(south, 'SHIPPING_REQUESTED');
    t.pass('every order shipped once the north engine was back');
  },
);

t.test(
  'orders pulled while the slots are taken wait for one: never more carrier calls than slots',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    // Two north deliveries wait for their engine, so the agent keeps a pull open for two more.
    // The engine comes back and both take their slots again, their carrier calls held; then two
    // south orders arrive and that open pull brings them: they must wait for a slot.
    const stack = await twoEngines(t, { LOG_LEVEL: 'debug' }); // its "shipment call held" lines
    // Followed from the start: an order's status that came before its follower would be missed.
    const statuses = [followStatuses(stack.nc, 'north'), followStatuses(stack.nc, 'south')];
    const north = await placeOrders(stack.client, 'north', CONCURRENCY);
    await waitForOrdersStream(stack.nc, CONCURRENCY, STREAM_WAIT_MS);
    await stack.engine.kill('SIGKILL');
    const agent = await stack.startAgent({ ...AGENT_ENV, ENGINE_WAIT_MS: '600000' });
    const waiting = () => agent.logs.filter((line) => line.msg === WAITING).length;
    await agent.waitForLog(() => waiting() === CONCURRENCY);

    await stack.carrier.setFaults({ timeoutRate: 1 });
    await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: ['north'] });
    const held = () => stack.carrier.logs.filter((line) => line.msg === 'shipment call held');
    await stack.carrier.waitForLog(() => held().length === CONCURRENCY);
    const south = await placeOrders(stack.client, 'south', CONCURRENCY);
    const consumer = () =>
      jetstreamManager(stack.nc).then((jsm) =>
        jsm.consumers.info(ORDERS_STREAM, SHIPPING_CONSUMER),
      );
    // No event says the agent has the south messages in hand: ask the consumer until it does.
    while ((await consumer()).num_ack_pending < 2 * CONCURRENCY) await delay(CONSUMER_POLL_MS);
    await stack.carrier.setFaults({ timeoutRate: 0 });

    await statuses[0]!.until(north, 'SHIPPING_REQUESTED');
    await statuses[1]!.until(south, 'SHIPPING_REQUESTED');
    const shipped = await stack.carrier.stats();
    t.ok(
      shipped.inFlightMax <= CONCURRENCY,
      `at most ${CONCURRENCY} carrier calls at once (${shipped.inFlightMax})`,
    );
  },
);
