import { jetstream } from '@nats-io/jetstream';
import t from 'tap';
import { ordersConfirmedSubject } from '../engine/protocol/index.js';
import { metricValue, scrapeMetrics } from './helpers/http-checks.js';
import { followStatuses, placeOrders, startShippingStack } from './helpers/shipping.js';

// A message on ORDERS that is not a confirmed order (the protocol's schema says so) is dropped by
// the agent — terminated, never called in to the carrier, never retried — and the orders around
// it ship as ever.

t.test('not an order on ORDERS: dropped, and the real orders still ship', async (t) => {
  const stack = await startShippingStack(t, { sales: ['odd'] });
  await stack.client.configureSale('odd', { stock: 5, perCustomerLimit: 1 });
  const js = jetstream(stack.nc);
  const subject = ordersConfirmedSubject('odd');
  await js.publish(subject, '{"orderId":"odd~99","saleId":"odd","quantity":"one"}');
  await js.publish(subject, 'not json at all');
  const statuses = followStatuses(stack.nc, 'odd');
  await stack.nc.flush();
  const orderIds = await placeOrders(stack.client, 'odd', 2);
  const agent = await stack.startAgent();
  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const metrics = await scrapeMetrics(`http://127.0.0.1:${await agent.metricsPort()}`);
  t.equal(
    metricValue(metrics, 'flashsale_shipping_deliveries_total', { outcome: 'invalid' }),
    2,
    'both strangers dropped as invalid',
  );
  const stats = await stack.carrier.stats();
  t.same(Object.keys(stats.byOrder).sort(), [...orderIds].sort(), 'only real orders shipped');
});
