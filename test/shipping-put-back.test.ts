import { jetstreamManager } from '@nats-io/jetstream';
import t from 'tap';
import { NOTIFICATIONS_STREAM } from '../engine/protocol/index.js';
import { PUT_BACK } from '../shipping-agent/delivery.js';
import { backoffFor } from '../shipping-agent/delivery-decision.js';
import { FAST_AGENT_ENV, placeOrders, startShippingStack } from './helpers/shipping.js';

// A delivery that fails for another reason than the carrier or the engine (here the customer
// notifications can't be published: their stream is gone) hands its message back after the next
// delay of SHIPPING_BACKOFF_MS, as a carrier failure does, not after a flat second that would
// spend the order's deliveries in seconds.

const PUT_BACKS = 3;

t.test('a failing notification is retried on the backoff schedule', async (t) => {
  const stack = await startShippingStack(t, { sales: ['mute'] });
  await stack.client.configureSale('mute', { stock: 1, perCustomerLimit: 1 });
  const agent = await stack.startAgent();
  await (await jetstreamManager(stack.nc)).streams.delete(NOTIFICATIONS_STREAM);
  await placeOrders(stack.client, 'mute', 1);

  const putBacks = () => agent.logs.filter((line) => line.msg === PUT_BACK);
  await agent.waitForLog(() => putBacks().length >= PUT_BACKS);
  const schedule = FAST_AGENT_ENV.SHIPPING_BACKOFF_MS!.split(',').map(Number);
  t.same(
    putBacks()
      .slice(0, PUT_BACKS)
      .map((line) => [line.delivery, line.retryInMs]),
    [1, 2, 3].map((delivery) => [delivery, backoffFor(schedule, delivery)]),
    'each delivery put back after its delay of the schedule',
  );
});
