import { SALE_STOCK_UNITS_MAX } from '../../engine/protocol/index.js';
import { configureSale, readSale } from '../../scripts/client/sale-admin.js';
import { LOAD_GENERATOR } from '../compare/cpu-usage.js';
import { outboxDrained } from '../engine-outbox.js';
import { conns, type Phase, type Pools } from './direct-rows.js';
import type { NpmStartStack } from './npm-start-stack.js';
import type { HttpBenchOptions } from './options.js';
import { ratioGoal } from './report.js';
import { measureRow, rateRow, type Target } from './rows.js';

// The row against `npm start`'s own stack, in its default configuration: its demo sale, whose 100
// units are raised to a stock that can't run out through the admin API (the only change made to
// it, so that every order is a durable accept), loaded on its first gateway, with the bare route
// measured again just before it: `npm start` runs after the direct stack is gone, minutes later.

const DURABLE_RATIO_GOAL = 0.5;
const DEMO_SALE = 'demo';

export async function npmStartRows(
  stack: NpmStartStack,
  bareTarget: Target,
  pools: Pools,
  options: HttpBenchOptions,
): Promise<Phase> {
  const demo = await readSale(stack.gatewayUrl, DEMO_SALE);
  await configureSale(stack.gatewayUrl, stack.adminToken, DEMO_SALE, {
    name: demo.name,
    stock: SALE_STOCK_UNITS_MAX,
    perCustomerLimit: demo.perCustomerLimit,
  });
  const connections = options.connections[0]!;
  const level = conns(connections);
  const load = (target: Target) => ({
    target,
    saleId: DEMO_SALE,
    customers: pools.customers,
    connections,
  });
  const bare = await measureRow(
    `bare Fastify route, ${level} (again, beside npm start)`,
    'req/s',
    () => rateRow(load(bareTarget), options),
  );
  await outboxDrained(stack.engineMetricsUrl);
  const target = { url: stack.gatewayUrl, processes: [...stack.processes, LOAD_GENERATOR] };
  const durable = await measureRow(
    `durable accepts through npm start (default settings), ${level}`,
    'orders/s',
    () => rateRow(load(target), options),
    {
      baseline: bare,
      note: `its first gateway; the demo sale's stock raised to ${SALE_STOCK_UNITS_MAX.toLocaleString('en-US')}`,
    },
  );
  return { rows: [bare, durable], goals: [ratioGoal(durable, DURABLE_RATIO_GOAL)], problems: [] };
}
