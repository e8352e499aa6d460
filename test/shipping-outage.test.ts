import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { readDeadLetters } from '../scripts/client/dead-letters.js';
import { PROJECT_ROOT } from '../scripts/stack/service-process.js';
import type { Teardown } from './helpers/nats.js';
import { followStatuses, placeOrders, startShippingStack } from './helpers/shipping.js';

// The carrier goes down. For a while: the breaker opens (few calls while open), half-opens,
// closes when the carrier is back, and every order ships. For longer than the whole redelivery
// schedule: dead letters and SHIPPING_FAILED, then the replay command ships them. A slow trial
// call: the other deliveries wait for its verdict rather than spend their redeliveries.

const run = promisify(execFile);
const OUTAGE_LONG_MS = 600_000;
const BREAKER_ORDERS = 100;
const DEAD_ORDERS = 20;
const HALF_OPEN_PROBES = 3;
const TRIAL_ORDERS = 20;
const WILL_RETRY = 'shipment not requested yet; will retry';
/**
 * Longer than a status report to the engine takes (a NATS round trip, on a machine that may be
 * starved for a moment): see the trial test. Half of the trial is left to catch a spent delivery.
 */
const REPORT_IN_FLIGHT_MS = 1_000;

/** A sale of `stock` units (one per customer), its statuses followed, and the carrier down. */
async function saleInOutage(t: Teardown, saleId: string, stock: number) {
  const stack = await startShippingStack(t, { sales: [saleId] });
  await stack.client.configureSale(saleId, { stock, perCustomerLimit: 1 });
  const statuses = followStatuses(stack.nc, saleId);
  await stack.nc.flush();
  await stack.carrier.startOutage(OUTAGE_LONG_MS);
  return { stack, statuses };
}

t.test('a short outage: the breaker opens, probes, closes; every order ships', async (t) => {
  const { stack, statuses } = await saleInOutage(t, 'outage', BREAKER_ORDERS);
  const agent = await stack.startAgent();

  const orderIds = await placeOrders(stack.client, 'outage', BREAKER_ORDERS);
  const halfOpens = () =>
    agent.logs.filter((l) => l.msg.startsWith('carrier breaker half-open')).length;
  // Counted from the first half-open on: calls sent just before the breaker opened have all
  // reached the carrier by then.
  await agent.waitForLog((line) => line.msg.startsWith('carrier breaker half-open'));
  const callsWhenOpened = (await stack.carrier.stats()).calls;
  for (let probe = 2; probe <= HALF_OPEN_PROBES + 1; probe += 1)
    await agent.waitForLog(
      (line) => line.msg.startsWith('carrier breaker half-open') && halfOpens() >= probe,
    );
  const callsWhileOpen = (await stack.carrier.stats()).calls - callsWhenOpened;
  t.ok(
    callsWhileOpen <= HALF_OPEN_PROBES + 1,
    `${callsWhileOpen} carrier calls through ${HALF_OPEN_PROBES} open periods (one probe each)`,
  );

  await stack.carrier.endOutage();
  await agent.waitForLog((line) => line.msg.startsWith('carrier breaker closed'));
  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const stats = await stack.carrier.stats();
  t.equal(stats.total, BREAKER_ORDERS, 'every order shipped once');
  t.ok(
    orderIds.every((id) => stats.byOrder[id] === 1),
    'exactly one shipment per order',
  );
  t.ok(
    orderIds.every((id) => statuses.byOrder.get(id)?.[1] === 'SHIPPING_DELAYED'),
    'every customer was told "delayed" while the carrier was down',
  );
});

t.test('a long outage: dead letters and SHIPPING_FAILED, then the replay ships', async (t) => {
  const { stack, statuses } = await saleInOutage(t, 'dead', DEAD_ORDERS);
  const agent = await stack.startAgent({ SHIPPING_MAX_DELIVER: '3', SHIPPING_BACKOFF_MS: '100' });

  const orderIds = await placeOrders(stack.client, 'dead', DEAD_ORDERS);
  await statuses.until(orderIds, 'SHIPPING_FAILED');
  const letters = await readDeadLetters(stack.nc);
  t.same(
    letters.map((l) => l.orderId).sort(),
    [...orderIds].sort(),
    'every order is in the dead-letter stream',
  );
  t.ok(
    letters.every((l) => l.deliveries === 3 && l.reason.length > 0),
    'after its 3 deliveries',
  );
  t.equal(
    agent.logs.filter((l) => l.msg.startsWith('shipment dead-lettered')).length,
    DEAD_ORDERS,
    'one operator-visible log line per dead letter',
  );
  const metrics = await fetch(`http://127.0.0.1:${await agent.metricsPort()}/metrics`);
  t.match(
    await metrics.text(),
    /flashsale_shipping_deliveries_total\{outcome="dead_lettered"\} 20/,
  );
  t.equal((await stack.carrier.stats()).total, 0, 'nothing was shipped');

  await stack.carrier.endOutage();
  const replay = await run(
    process.execPath,
    [join(PROJECT_ROOT, 'dist/scripts/replay-dead-letters.js')],
    {
      env: { ...process.env, NATS_URL: stack.nats.url },
    },
  );
  t.match(replay.stdout, /20 dead letter\(s\) put back for delivery/);
  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const stats = await stack.carrier.stats();
  t.ok(
    orderIds.every((id) => stats.byOrder[id] === 1),
    'after the replay, each order shipped exactly once',
  );
  t.same(await readDeadLetters(stack.nc), [], 'the dead-letter stream is empty');
});

t.test('a slow trial call: the other deliveries wait for its verdict', async (t) => {
  const { stack, statuses } = await saleInOutage(t, 'trial', TRIAL_ORDERS);
  // A short backoff: a delivery refused during the trial would be back, and spent, every 100 ms.
  const agent = await stack.startAgent({
    SHIPPING_MAX_DELIVER: '6',
    SHIPPING_BACKOFF_MS: '100',
    BREAKER_RESET_MS: '300',
    BREAKER_TIMEOUT_MS: '2000',
  });
  const orderIds = await placeOrders(stack.client, 'trial', TRIAL_ORDERS);
  await agent.waitForLog((line) => line.msg.startsWith('carrier breaker open'));

  // The carrier is up again but holds every call: the next trial runs until the breaker's timeout.
  await stack.carrier.endOutage();
  await stack.carrier.setFaults({ timeoutRate: 1 });
  const from = agent.logs.length;
  const halfOpenSince = () =>
    agent.logs.findIndex(
      (line, i) => i >= from && line.msg.startsWith('carrier breaker half-open'),
    );
  await agent.waitForLog(
    (line) => line.msg.startsWith('carrier breaker open') && halfOpenSince() >= 0,
  );
  const trial = agent.logs.slice(halfOpenSince());
  const verdictAt = trial.find((line) => line.msg.startsWith('carrier breaker open'))!.time;
  // A delivery refused just before the trial began may say so just after (it was reporting
  // SHIPPING_DELAYED to the engine): only refusals well into the 2 s trial count.
  const spentFrom = trial[0]!.time + REPORT_IN_FLIGHT_MS;
  t.same(
    trial.filter(
      (line) => line.msg === WILL_RETRY && line.time >= spentFrom && line.time < verdictAt,
    ),
    [],
    'no delivery was spent while the trial call ran',
  );

  await stack.carrier.setFaults({ timeoutRate: 0 });
  await statuses.until(orderIds, 'SHIPPING_REQUESTED');
  const stats = await stack.carrier.stats();
  t.ok(
    orderIds.every((id) => stats.byOrder[id] === 1),
    'then every order shipped once, none dead-lettered',
  );
});
