import { writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { readDeadLetters } from '../scripts/client/dead-letters.js';
import { loadAgentConfig } from '../shipping-agent/config.js';
import { settleBound, settleBoundSettings } from '../shipping-agent/settle-bound.js';
import { readSettings } from './helpers/env-settings.js';
import {
  FAST_AGENT_ENV,
  followStatuses,
  placeOrders,
  startShippingStack,
} from './helpers/shipping.js';

// A hostile carrier (half the calls fail, a tenth ship and lose the reply, a tenth hang, each
// after a random latency): every order ends shipped (once) or dead-lettered, and within the bound
// that settle-bound.ts computes from the agent's settings, measured from when it was placed.
//
// By default a short run (about 30 s) with SHIPPING_DEADLINE_MS set. SHIPPING_HOSTILE_RUN=issue
// runs the case of issue 17 instead (100 orders, calls up to 2 s, SHIPPING_BACKOFF_MS=
// 500,1000,2000,3000, SHIPPING_MAX_DELIVER=30, the agent's defaults otherwise, and
// SHIPPING_DEADLINE_MS from SHIPPING_HOSTILE_DEADLINE_MS, 120000 unless given): minutes, so it
// is not part of the suite. SHIPPING_HOSTILE_LOGS=<file> keeps the agent's log lines there.

const ISSUE_RUN = process.env.SHIPPING_HOSTILE_RUN === 'issue';
/** Engine round trips, notifications and polling, which the formula leaves out. */
const SETTLE_SLACK_MS = 5_000;
const POLL_MS = 100;
const SALE = 'hostile';

const SHORT = {
  orders: 40,
  faults: { failureRate: 0.5, lostReplyRate: 0.1, timeoutRate: 0.1, latencyMsMax: 500 },
  agentEnv: {
    SHIPPING_BACKOFF_MS: '500,1000,2000,3000',
    SHIPPING_MAX_DELIVER: '30',
    SHIPPING_DEADLINE_MS: '15000',
    // A hung call is cut by the breaker's timeout (the carrier client's own is 4 s here).
    BREAKER_TIMEOUT_MS: '1500',
    BREAKER_RESET_MS: '1000',
  },
};

/** The agent's own defaults for what FAST_AGENT_ENV shortens: the issue's run used those. */
function agentDefaults(): Record<string, string> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const defaults = new Map(
    readSettings(root, 'shipping-agent/config.ts').map((s) => [s.name, s.default]),
  );
  return Object.fromEntries(Object.keys(FAST_AGENT_ENV).map((name) => [name, defaults.get(name)!]));
}

const ISSUE = {
  orders: 100,
  faults: { failureRate: 0.5, lostReplyRate: 0.1, timeoutRate: 0.1, latencyMsMax: 2_000 },
  agentEnv: {
    ...agentDefaults(),
    SHIPPING_BACKOFF_MS: '500,1000,2000,3000',
    SHIPPING_MAX_DELIVER: '30',
    SHIPPING_DEADLINE_MS: process.env.SHIPPING_HOSTILE_DEADLINE_MS ?? '120000',
  },
};

t.test('a hostile carrier: every order settles once, within the bound', async (t) => {
  const run = ISSUE_RUN ? ISSUE : SHORT;
  const agentEnv = { ...FAST_AGENT_ENV, ...run.agentEnv };
  const { settleMsMax } = settleBound(settleBoundSettings(loadAgentConfig(agentEnv)));
  t.setTimeout(settleMsMax + SETTLE_SLACK_MS + 60_000);
  const stack = await startShippingStack(t, { sales: [SALE] });
  await stack.client.configureSale(SALE, { stock: run.orders, perCustomerLimit: 1 });
  const statuses = followStatuses(stack.nc, SALE);
  await stack.nc.flush();
  await stack.carrier.setFaults(run.faults);
  const agent = await stack.startAgent(run.agentEnv);
  const logsFile = process.env.SHIPPING_HOSTILE_LOGS;
  if (logsFile !== undefined)
    t.teardown(() =>
      writeFile(logsFile, agent.logs.map((line) => JSON.stringify(line)).join('\n')),
    );

  const placedAt = Date.now();
  const orderIds = await placeOrders(stack.client, SALE, run.orders);
  const settledAfter = new Map<string, number>();
  const ending = (id: string) => statuses.byOrder.get(id)?.at(-1);
  const settled = (id: string) =>
    ending(id) === 'SHIPPING_REQUESTED' || ending(id) === 'SHIPPING_FAILED';
  while (
    settledAfter.size < orderIds.length &&
    Date.now() - placedAt <= settleMsMax + SETTLE_SLACK_MS
  ) {
    for (const id of orderIds)
      if (!settledAfter.has(id) && settled(id)) settledAfter.set(id, Date.now() - placedAt);
    await delay(POLL_MS);
  }

  const slowestMs = Math.max(0, ...settledAfter.values());
  t.comment(`bound ${settleMsMax} ms; the slowest order settled after ${slowestMs} ms`);
  const byMinute = [60_000, 120_000, 180_000].map(
    (ms) =>
      `${[...settledAfter.values()].filter((after) => after <= ms).length} by ${ms / 1_000} s`,
  );
  t.comment(`settled: ${byMinute.join(', ')}`);
  t.same(
    orderIds.filter((id) => !settledAfter.has(id)),
    [],
    `every order shipped or dead-lettered within ${settleMsMax} ms (+ ${SETTLE_SLACK_MS} ms)`,
  );
  const shipped = orderIds.filter((id) => ending(id) === 'SHIPPING_REQUESTED');
  const failed = orderIds.filter((id) => ending(id) === 'SHIPPING_FAILED');
  t.comment(`${shipped.length} shipped, ${failed.length} dead-lettered`);
  const stats = await stack.carrier.stats();
  t.same(
    shipped.filter((id) => stats.byOrder[id] !== 1),
    [],
    'each shipped order has exactly one shipment',
  );
  t.same(
    orderIds.filter((id) => (stats.byOrder[id] ?? 0) > 1),
    [],
    'and no order has two (a dead-lettered one may have one: its reply was lost)',
  );
  const letters = await readDeadLetters(stack.nc);
  t.same(
    letters.map((letter) => letter.orderId).sort(),
    [...failed].sort(),
    'the dead letters are the failed orders, one each',
  );
});
