import t from 'tap';
import { readDeadLetters } from '../scripts/lib/dead-letters.js';
import { followStatuses, placeOrders, startShippingStack } from './helpers/shipping.js';

// An order whose deliveries all end with the agent dying (no agent ever gets to say "failed"):
// JetStream gives up after max_deliver and only says so in an advisory. A running agent turns it
// into a dead letter and SHIPPING_FAILED, so the order is not silently dropped.

const HANGING_CARRIER_WAIT_MS = 10_000;
const POLL_MS = 20;
const TEST_TIMEOUT_MS = 60_000;

t.test('deliveries exhausted by dying agents end in the dead-letter stream', async (t) => {
  t.setTimeout(TEST_TIMEOUT_MS);
  const stack = await startShippingStack(t, {
    sales: ['gone'],
    carrierEnv: { CARRIER_TIMEOUT_RATE: '1' },
  });
  await stack.client.configureSale('gone', { stock: 1, perCustomerLimit: 1 });
  const statuses = followStatuses(stack.nc, 'gone');
  await stack.nc.flush();
  const [orderId] = await placeOrders(stack.client, 'gone', 1);
  const env = {
    SHIPPING_MAX_DELIVER: '2',
    SHIPPING_ACK_WAIT_MS: '1000',
    CARRIER_HEADERS_TIMEOUT_MS: '60000',
    BREAKER_TIMEOUT_MS: '60000',
  };

  // Two agents in turn each take the delivery, hang on the carrier, and die. The third agent is
  // already listening when the second dies: JetStream's advisory is not stored, only sent.
  for (let delivery = 1; delivery <= 2; delivery += 1) {
    const agent = await stack.startAgent(env);
    // The carrier offers no event for "a call arrived": its counter is polled, bounded.
    const deadline = Date.now() + HANGING_CARRIER_WAIT_MS;
    while ((await stack.carrier.stats()).inFlight === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    t.equal((await stack.carrier.stats()).inFlight, 1, `delivery ${delivery} is at the carrier`);
    if (delivery === 2) {
      await stack.carrier.setFaults({ timeoutRate: 0 });
      await stack.startAgent(env);
    }
    await agent.kill('SIGKILL');
  }

  // The healthy agent hears JetStream give up on the order.
  await statuses.until([orderId!], 'SHIPPING_FAILED');
  const letters = await readDeadLetters(stack.nc);
  t.same(
    letters.map((l) => [l.orderId, l.reason]),
    [[orderId, 'deliveries exhausted without an answer']],
    'the order is in the dead-letter stream',
  );
  t.equal((await stack.carrier.stats()).total, 0, 'and was never shipped');
});
