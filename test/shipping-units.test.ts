import t from 'tap';
import type { OrderView } from '../engine/protocol/index.js';
import { loadAgentConfig } from '../shipping-agent/config.js';
import { backoffFor } from '../shipping-agent/delivery-decision.js';
import { notificationText } from '../shipping-agent/notifications.js';

// The shipping agent's small pure parts: settings validation, the redelivery schedule, and what
// a customer is told.

t.test('settings: defaults are explicit, bad values are refused by name', async (t) => {
  const config = loadAgentConfig({});
  t.equal(config.maxDeliver, 8);
  t.same(config.backoffMs, [2_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000]);
  t.equal(config.breaker.errorPercent, 50);
  t.throws(() => loadAgentConfig({ CARRIER_URL: 'not a url' }), /CARRIER_URL/);
  t.throws(() => loadAgentConfig({ SHIPPING_BACKOFF_MS: '1000,soon' }), /SHIPPING_BACKOFF_MS/);
  t.throws(() => loadAgentConfig({ SHIPPING_MAX_DELIVER: '1' }), /SHIPPING_MAX_DELIVER/);
  t.throws(() => loadAgentConfig({ BREAKER_ERROR_PERCENT: '0' }), /BREAKER_ERROR_PERCENT/);
});

t.test('the redelivery schedule grows, then repeats its last step', async (t) => {
  const schedule = [100, 200, 400];
  t.same(
    [1, 2, 3, 4, 9].map((delivery) => backoffFor(schedule, delivery)),
    [100, 200, 400, 400, 400],
  );
});

t.test('each status has a message a customer can read', async (t) => {
  const order: OrderView = {
    orderId: 's~7',
    saleId: 's',
    customerId: 'c',
    quantity: 1,
    status: 'CONFIRMED',
    trackingId: null,
    createdAt: 0,
    history: [],
  };
  t.match(notificationText(order), /s~7 is confirmed\./);
  t.match(
    notificationText({ ...order, status: 'SHIPPING_DELAYED' }),
    /confirmed; shipping will be arranged shortly/,
  );
  t.match(
    notificationText({ ...order, status: 'SHIPPING_REQUESTED', trackingId: 'TRK-1' }),
    /on its way: tracking number TRK-1/,
  );
  t.match(notificationText({ ...order, status: 'SHIPPING_FAILED' }), /will contact you/);
});
