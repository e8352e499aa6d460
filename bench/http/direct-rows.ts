import { PER_CUSTOMER_LIMIT_UNITS_MAX, SALE_STOCK_UNITS_MAX } from '../../engine/protocol/index.js';
import { requestJson } from '../../scripts/client/http-json.js';
import { configureSale, readSale } from '../../scripts/client/sale-admin.js';
import type { TokenPool } from '../../scripts/client/token-pool.js';
import { mintToken } from '../../scripts/client/tokens.js';
import { outboxDrained } from '../engine-outbox.js';
import type { DirectStack } from './direct-stack.js';
import type { HttpBenchOptions } from './options.js';
import { type Goal, p99Goal, type Row, ratioGoal } from './report.js';
import { burstRow, latencyRow, measureRow, rateRow, type Target } from './rows.js';

// bench:http's rows on the directly started stack, in the order they run. Every row's customers
// are new to its sale (a sale per row; customer i of the pool sends request i), so each order is
// a first order from a customer with a token the gateway has never seen: the opening second.
//   - per connection count: the bare route, then durable accepts and sold-out refusals;
//   - the burst: a 100-unit sale (2 per customer) meets `burstRequests` orders at once;
//   - secondary: durable accepts from 64 customers who order again and again (the old headline);
//   - the open loop: the bare route and durable accepts at one rate, their p99.

const SOLD_OUT_RATIO_GOAL = 0.9;
const P99_MS_GOAL = 50;
const BURST_STOCK = 100;
const BURST_CAP = 2;
/** The reference case's cap; each customer of the realistic mix orders once. */
const PER_CUSTOMER_LIMIT = 2;
const STOCK_NEVER_OUT = SALE_STOCK_UNITS_MAX;
/** The open loop's default rate: this share of the durable path's closed-loop rate. */
const OPEN_LOOP_LOAD_SHARE = 0.5;
const OPEN_LOOP_RATE_STEP = 100;

export const SALES = {
  open: (connections: number) => `bench-open-${connections}`,
  soldOut: 'bench-sold-out',
  burst: 'bench-burst',
  repeating: 'bench-repeating',
  openLoop: 'bench-open-loop',
};

export const salesOf = (options: HttpBenchOptions): string[] => [
  ...options.connections.map(SALES.open),
  SALES.soldOut,
  SALES.burst,
  SALES.repeating,
  SALES.openLoop,
];

export interface Pools {
  readonly customers: TokenPool;
  /** The secondary row's few customers, who order again and again. */
  readonly repeating: TokenPool;
}

export interface Phase {
  readonly rows: Row[];
  readonly goals: Goal[];
  /** What went wrong that makes the figures worthless (an invariant, a sale not set up). */
  readonly problems: string[];
}

async function prepareSales(stack: DirectStack, options: HttpBenchOptions, secret: string) {
  const admin = mintToken(secret, { sub: 'bench-admin', role: 'admin' });
  const url = stack.gateway.url;
  const sale = (name: string, stock: number, perCustomerLimit: number) => ({
    name,
    stock,
    perCustomerLimit,
  });
  for (const saleId of [...options.connections.map(SALES.open), SALES.openLoop])
    await configureSale(
      url,
      admin,
      saleId,
      sale('Never runs out', STOCK_NEVER_OUT, PER_CUSTOMER_LIMIT),
    );
  await configureSale(
    url,
    admin,
    SALES.repeating,
    sale('Repeating customers', STOCK_NEVER_OUT, PER_CUSTOMER_LIMIT_UNITS_MAX),
  );
  await configureSale(url, admin, SALES.burst, sale('The opening burst', BURST_STOCK, BURST_CAP));
  await configureSale(url, admin, SALES.soldOut, sale('Sold out', 1, 1));
  const last = await requestJson(`${url}/v1/sales/${SALES.soldOut}/orders`, {
    method: 'POST',
    token: mintToken(secret, { sub: 'bench-last-buyer' }),
    body: { quantity: 1 },
  });
  if (last.status !== 201) throw new Error(`selling the last unit: ${last.status}`);
}

export async function directRows(
  stack: DirectStack,
  bare: Target,
  pools: Pools,
  options: HttpBenchOptions,
  secret: string,
): Promise<Phase> {
  await prepareSales(stack, options, secret);
  const phase: Phase = { rows: [], goals: [], problems: [] };
  const bareAt = new Map<number, Row>();
  const durableAt = new Map<number, Row>();
  for (const connections of options.connections) {
    const level = await levelRows(stack, bare, pools.customers, options, connections, phase);
    bareAt.set(connections, level.bare);
    durableAt.set(connections, level.durable);
  }
  await burst(stack, pools.customers, options, bareAt.get(options.burstConnections), phase);
  const first = options.connections[0]!;
  await outboxDrained(stack.engineMetricsUrl);
  const load = {
    target: stack.gateway,
    saleId: SALES.repeating,
    customers: pools.repeating,
    connections: first,
  };
  phase.rows.push(
    await measureRow(
      `(secondary) durable accepts, ${pools.repeating.size} repeating customers, ${conns(first)}`,
      'orders/s',
      () => rateRow(load, options),
      { baseline: bareAt.get(first) },
    ),
  );
  await openLoopRows(stack, bare, pools.customers, options, durableAt, phase);
  return phase;
}

export const conns = (n: number): string => `${n.toLocaleString('en-US')} conns`;

async function levelRows(
  stack: DirectStack,
  bareTarget: Target,
  customers: TokenPool,
  options: HttpBenchOptions,
  connections: number,
  phase: Phase,
): Promise<{ bare: Row; durable: Row }> {
  const level = conns(connections);
  const load = (target: Target, saleId: string) => ({ target, saleId, customers, connections });
  const open = SALES.open(connections);
  await outboxDrained(stack.engineMetricsUrl);
  const bare = await measureRow(`bare Fastify route, ${level}`, 'req/s', () =>
    rateRow(load(bareTarget, open), options),
  );
  const durable = await measureRow(
    `durable accepts, ${level}`,
    'orders/s',
    () => rateRow(load(stack.gateway, open), options),
    { baseline: bare },
  );
  await outboxDrained(stack.engineMetricsUrl);
  const soldOut = await measureRow(
    `sold-out refusals, ${level}`,
    'req/s',
    () => rateRow(load(stack.gateway, SALES.soldOut), options),
    { baseline: bare },
  );
  phase.rows.push(bare, durable, soldOut);
  phase.goals.push(ratioGoal(soldOut, SOLD_OUT_RATIO_GOAL));
  return { bare, durable };
}

async function burst(
  stack: DirectStack,
  customers: TokenPool,
  options: HttpBenchOptions,
  bare: Row | undefined,
  phase: Phase,
): Promise<void> {
  await outboxDrained(stack.engineMetricsUrl);
  const { burstRequests: requests, burstConnections: connections } = options;
  const load = { target: stack.gateway, saleId: SALES.burst, customers, connections };
  const name = `burst: ${requests.toLocaleString('en-US')} orders on ${BURST_STOCK} units, ${conns(connections)}`;
  let audit = '';
  const row = await measureRow(
    name,
    'replies/s',
    async () => {
      const run = await burstRow(load, requests);
      const sale = await readSale(stack.gateway.url, SALES.burst);
      const sold = sale.stock - sale.remaining;
      const accepted = run.outcomes['201'] ?? 0;
      audit = `sold ${sold} of ${sale.stock}, ${accepted} orders acknowledged`;
      if (sold !== BURST_STOCK || accepted !== sold) phase.problems.push(`burst: ${audit}`);
      return run;
    },
    { baseline: bare },
  );
  phase.rows.push({
    ...row,
    note: `first request to last reply ${Math.round(row.run.windowMs)} ms; ${audit}`,
  });
}

async function openLoopRows(
  stack: DirectStack,
  bareTarget: Target,
  customers: TokenPool,
  options: HttpBenchOptions,
  durableAt: ReadonlyMap<number, Row>,
  phase: Phase,
): Promise<void> {
  const connections = options.openLoopConnections;
  const ratePerS =
    options.openLoopRatePerS > 0 ? options.openLoopRatePerS : halfOf(durableAt, connections);
  const level = `${conns(connections)} at ${ratePerS.toLocaleString('en-US')}/s, open loop`;
  const load = (target: Target) => ({ target, saleId: SALES.openLoop, customers, connections });
  await outboxDrained(stack.engineMetricsUrl);
  const bare = await measureRow(`bare Fastify route, ${level}`, 'ms p99', () =>
    latencyRow(load(bareTarget), options, ratePerS),
  );
  const durable = await measureRow(
    `durable accepts, ${level}`,
    'ms p99',
    () => latencyRow(load(stack.gateway), options, ratePerS),
    { note: "latency from each request's scheduled time" },
  );
  phase.rows.push(bare, durable);
  phase.goals.push(p99Goal(durable, P99_MS_GOAL));
}

/** The open loop's default rate: a share of the durable rate at as many connections (or the last). */
function halfOf(durableAt: ReadonlyMap<number, Row>, connections: number): number {
  const durable = durableAt.get(connections) ?? [...durableAt.values()].at(-1)!;
  const rate = (durable.run.perSecond * OPEN_LOOP_LOAD_SHARE) / OPEN_LOOP_RATE_STEP;
  return Math.max(OPEN_LOOP_RATE_STEP, Math.round(rate) * OPEN_LOOP_RATE_STEP);
}
