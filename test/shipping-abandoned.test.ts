import { jetstreamManager } from '@nats-io/jetstream';
import t from 'tap';
import { ORDERS_STREAM, SHIPPING_CONSUMER } from '../engine/protocol/index.js';
import { readDeadLetters } from '../scripts/client/dead-letters.js';
import { EXHAUSTED_REASON } from '../shipping-agent/delivery-decision.js';
import { startEngine } from './helpers/nats.js';
import { followStatuses, placeOrders, startShippingStack } from './helpers/shipping.js';

// An order whose deliveries all end with the agent dying (no agent ever gets to say "failed"),
// and then the agent that finds it past its last delivery dies too, while it waits for the
// engine. JetStream never gives the message up (the agent counts deliveries itself), so the next
// agent still dead-letters it, without another carrier call: the order is not silently dropped.
// Each next agent is pulling before the last one dies: nats-server 2.9 restarts a message's
// delivery count at 1 when its ack wait lapses while no pull request waits (safe, as the order
// then gets more deliveries, not fewer; but this test counts them).

const MAX_DELIVER = 2;
const CARRIER_CALL_WAIT_MS = 10_000;
const POLL_MS = 20;
const TEST_TIMEOUT_MS = 60_000;
const WAITING = 'engine unavailable; waiting for it';
/** Short, so the test is quick; not below 2 s (heartbeats every half of it), or a stalled agent's message comes again. */
const AGENT_ENV = {
  SHIPPING_MAX_DELIVER: String(MAX_DELIVER),
  SHIPPING_ACK_WAIT_MS: '2000',
  CARRIER_HEADERS_TIMEOUT_MS: '60000',
  BREAKER_TIMEOUT_MS: '60000',
};

t.test('an order whose every delivery died with its agent ends in the dead letters', async (t) => {
  t.setTimeout(TEST_TIMEOUT_MS);
  const stack = await startShippingStack(t, {
    sales: ['gone'],
    carrierEnv: { CARRIER_TIMEOUT_RATE: '1' },
  });
  await stack.client.configureSale('gone', { stock: 1, perCustomerLimit: 1 });
  const statuses = followStatuses(stack.nc, 'gone');
  await stack.nc.flush();
  const [orderId] = await placeOrders(stack.client, 'gone', 1);
  // The carrier offers no event for "a call arrived": its counter is polled, bounded.
  const carrierCalls = async (calls: number) => {
    const deadline = Date.now() + CARRIER_CALL_WAIT_MS;
    while ((await stack.carrier.stats()).calls < calls && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    return (await stack.carrier.stats()).calls;
  };

  // Agents in turn each take a delivery, hang on the carrier, and die.
  let holder = await stack.startAgent(AGENT_ENV);
  t.equal(await carrierCalls(1), 1, 'delivery 1 is at the carrier');
  for (let delivery = 2; delivery <= MAX_DELIVER; delivery += 1) {
    const next = await stack.startAgent(AGENT_ENV);
    await holder.kill('SIGKILL');
    holder = next;
    t.equal(await carrierCalls(delivery), delivery, `delivery ${delivery} is at the carrier`);
  }

  // The next agent gets the order past its last delivery, finds the engine away, and dies waiting.
  await stack.engine.kill('SIGKILL');
  for (const delivery of [MAX_DELIVER + 1, MAX_DELIVER + 2]) {
    const next = await stack.startAgent(AGENT_ENV);
    await holder.kill('SIGKILL');
    holder = next;
    const waited = await holder.waitForLog((line) => line.msg === WAITING);
    t.equal(waited.delivery, delivery, `delivery ${delivery} waits for the engine`);
  }

  // The engine is back: the agent still waiting dead-letters the order.
  await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: ['gone'] });
  await statuses.until([orderId!], 'SHIPPING_FAILED');
  const letters = await readDeadLetters(stack.nc);
  t.same(
    letters.map((letter) => [letter.orderId, letter.reason, letter.deliveries]),
    [[orderId, EXHAUSTED_REASON, MAX_DELIVER + 2]],
    'the order is in the dead-letter stream, once',
  );
  const carrier = await stack.carrier.stats();
  t.equal(carrier.calls, MAX_DELIVER, 'no carrier call past the last delivery');
  t.equal(carrier.total, 0, 'and the order was never shipped');
  const consumer = await (await jetstreamManager(stack.nc)).consumers.info(
    ORDERS_STREAM,
    SHIPPING_CONSUMER,
  );
  t.equal(consumer.num_ack_pending + consumer.num_pending, 0, 'its message is done with');
});
