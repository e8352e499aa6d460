import { JWT_SECRET_DEVELOPMENT } from '../../gateway/config.js';
import { requestJson } from '../../scripts/client/http-json.js';
import type { TokenPool } from '../../scripts/client/token-pool.js';
import { mintToken } from '../../scripts/client/tokens.js';
import { LOAD_GENERATOR } from '../compare/cpu-usage.js';
import { outboxDrained } from '../engine-outbox.js';
import type { MeasuredRun } from '../load/closed-loop.js';
import { type ClusterRoles, clusterRoles } from './cluster-roles.js';
import { type FirstOrder, newSaleFirstOrder } from './first-order.js';
import { idleCoreShare } from './idle-cpu.js';
import type { ClusterBenchOptions } from './options.js';
import { spreadClosedLoop } from './spread-load.js';
import { type BenchStack, type StackName, startNpmStart, startRehearsal } from './stacks.js';
import { appendsPerOrder, streamSequences } from './stream-appends.js';

// One stack's turn in a round of bench:cluster: start it, create new sales through its API and
// time each one's first accepted order, then load the first of them (stock that does not run out,
// so every answer is a durable accept) over both gateways with the opening second's mix, and stop
// it. Nothing of one turn is left for the next: each starts from an empty data directory.

export interface StackRun {
  readonly stack: StackName;
  readonly round: number;
  readonly firstOrders: readonly FirstOrder[];
  readonly run: MeasuredRun;
  /** The stack's processes, by group name → role, for the profile. */
  readonly roles: ReadonlyMap<string, string>;
  /** Orders accepted over the whole row (warm-up too) per group commit of the busiest engine. */
  readonly ordersPerCommit: number | null;
  /** Share of one core the stack used idle, before its load (idle-cpu.ts). */
  readonly idleCores: number | null;
  /** Messages appended to each JetStream stream per accepted order, over the whole row. */
  readonly appendsPerOrder: readonly (readonly [string, number])[];
  /** The rehearsal's owner engine and SALE_LOG leader; null on npm start. */
  readonly cluster: ClusterRoles | null;
}

const STARTERS: Readonly<Record<StackName, () => Promise<BenchStack>>> = {
  'npm start': startNpmStart,
  rehearsal: startRehearsal,
};

/**
 * A stack that exits before it is ready is started again on a fresh data directory, this many
 * times in all: on this busy machine the rehearsal did, until its demo sale's first read learned
 * to ask again after a 503 (commit 03b7bca); one lost start should not lose a whole run.
 */
const STACK_START_ATTEMPTS_MAX = 5;

const WAL_FLUSHES = /^flashsale_engine_wal_flushes_total (\d+)/m;

async function walFlushes(stack: BenchStack): Promise<number[]> {
  return Promise.all(
    stack.engineMetricsUrls.map(async (url) => {
      const metrics = String((await requestJson(url)).body);
      return Number(WAL_FLUSHES.exec(metrics)?.[1] ?? Number.NaN);
    }),
  );
}

async function timeNewSales(stack: BenchStack, count: number): Promise<FirstOrder[]> {
  const adminToken = mintToken(JWT_SECRET_DEVELOPMENT, { sub: 'bench-admin', role: 'admin' });
  const gateways = stack.gatewayUrls;
  const timed: FirstOrder[] = [];
  for (let i = 0; i < count; i += 1)
    timed.push(
      await newSaleFirstOrder({
        saleId: `bench-${i + 1}`,
        adminUrl: gateways[i % gateways.length]!,
        orderUrl: gateways[(i + 1) % gateways.length]!,
        adminToken,
        jwtSecret: JWT_SECRET_DEVELOPMENT,
      }),
    );
  return timed;
}

/** What the stack's engines and NATS store have done so far: group commits and appends. */
async function storeCounts(stack: BenchStack) {
  return { flushes: await walFlushes(stack), streams: await streamSequences(stack.natsUrls) };
}

async function measure(
  stack: BenchStack,
  round: number,
  customers: TokenPool,
  options: ClusterBenchOptions,
): Promise<StackRun> {
  const firstOrders = await timeNewSales(stack, options.newSales);
  const saleId = firstOrders[0]!.saleId;
  const drained = async () => {
    for (const url of stack.engineMetricsUrls) await outboxDrained(url);
  };
  await drained();
  const idleCores = await idleCoreShare(stack.processes);
  const before = await storeCounts(stack);
  console.log(`  ${stack.name}: ${options.connections} connections over its gateways…`);
  const run = await spreadClosedLoop({
    gatewayUrls: stack.gatewayUrls,
    saleId,
    customers,
    connections: options.connections,
    warmUpMs: options.warmUpMs,
    measureMs: options.measureMs,
    processes: [...stack.processes, LOAD_GENERATOR],
  });
  // Once the row's orders are all in ORDERS: the outbox works on after the load stops.
  await drained();
  const after = await storeCounts(stack);
  const commits = Math.max(...after.flushes.map((n, i) => n - before.flushes[i]!));
  const accepted = run.allOutcomes['201'] ?? 0;
  return {
    stack: stack.name,
    round,
    firstOrders,
    run,
    roles: new Map(stack.processes.map((group) => [group.name, group.role])),
    ordersPerCommit: commits > 0 ? accepted / commits : null,
    idleCores,
    appendsPerOrder: appendsPerOrder(before.streams, after.streams, accepted),
    cluster: stack.name === 'rehearsal' ? await clusterRoles(stack.natsUrls, saleId) : null,
  };
}

async function startStack(name: StackName, round: number): Promise<BenchStack> {
  for (let attempt = 1; ; attempt += 1) {
    console.log(`round ${round}: starting ${name}…`);
    try {
      return await STARTERS[name]();
    } catch (error) {
      if (attempt === STACK_START_ATTEMPTS_MAX) throw error;
      const said = String((error as Error).message).split('\n');
      console.log(`  it did not start (${said.slice(-3).join(' / ')}); again`);
    }
  }
}

/** Starts the stack, measures it, and stops it whatever happens (`onStarted` for an interrupt). */
export async function stackRun(
  name: StackName,
  round: number,
  customers: TokenPool,
  options: ClusterBenchOptions,
  onStarted: (stack: BenchStack | null) => void,
): Promise<StackRun> {
  const stack = await startStack(name, round);
  onStarted(stack);
  try {
    const measured = await measure(stack, round, customers, options);
    const rate = Math.round(measured.run.perSecond).toLocaleString('en-US');
    console.log(`    ${rate} replies/s, p99 ${measured.run.latency.p99Ms.toFixed(1)} ms`);
    return measured;
  } finally {
    await stack.stop();
    onStarted(null);
  }
}
