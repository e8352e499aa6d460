import { setTimeout as delay } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { requestJson } from '../scripts/lib/http-json.js';
import { summarizeLatencies } from '../scripts/lib/latency-stats.js';
import { startLocalStack } from '../scripts/lib/local-stack.js';
import { type QuietGateway, startQuietGateway } from '../scripts/lib/quiet-gateway.js';
import { configureSale } from '../scripts/lib/sale-admin.js';
import { TokenPool } from '../scripts/lib/token-pool.js';
import { mintToken } from '../scripts/lib/tokens.js';
import { startBenchServer } from './bench-process.js';
import { type Measurement, measure } from './closed-loop-window.js';
import { LOAD_GENERATOR, type ProcessGroup, processGroup } from './compare/cpu-usage.js';
import { type OpenLoopRequest, openLoop } from './open-loop.js';
import { ordersOfEveryCustomer } from './order-requests.js';
import { type BenchRow, printTable } from './table.js';

// `npm run bench:http`: orders per second and latency through HTTP → gateway → NATS → engine →
// WAL, at 100 and 1,000 connections, with autocannon generating every row the same way. The
// baseline is a bare Fastify route in a process of its own, measured in the same run:
//   - durable accepts: stock that never runs out, so every order is written and fsynced before
//     its 201;
//   - the same with the gateway's batching off (ENGINE_BATCH_ORDERS_MAX=1): what batching buys;
//   - sold-out fast path: a sold-out sale, which the gateway refuses from its stock cache;
//   - latency under a given load: 1,000 connections, an open loop at half the durable path's
//     measured capacity, for the bare route, durable accepts and the fast path alike.
// One gateway per row, so it compares with one bare process. Rate limiting and load shedding are
// set out of reach: their refusals would be fast non-answers, not the path being measured.

const CONNECTION_LEVELS = [100, 1_000] as const;
/**
 * Customers whose tokens the requests cycle through. Every autocannon connection serialises the
 * whole list when it starts (O(connections × customers), ~10 µs each here): 1,000 customers at
 * 1,000 connections blocked the generator for 11 s. 64 keep that under a second, in the
 * warm-up, and the bytes of each request stay prebuilt (a `setupRequest` per request
 * cost the bare route 25% of its rate here, which would flatter every ratio).
 */
const CUSTOMERS = 64;
const JWT_SECRET = 'bench-http-secret-0123456789abcdef';
const OPEN_SALE = 'bench-open';
const SOLD_OUT_SALE = 'bench-sold-out';
const GATEWAY_ENV = {
  RATE_LIMIT_MAX: '1000000',
  ENGINE_INFLIGHT_MAX: '1000000',
  EVENT_LOOP_DELAY_MS_MAX: '60000',
};
/** Requests autocannon abandons at the end of a run are still answered; let them finish. */
const IN_FLIGHT_SETTLE_MS = 500;
/** Open-loop rows: offered load as a share of the durable path's closed-loop capacity. */
const OPEN_LOOP_LOAD_SHARE = 0.5;
const OPEN_LOOP_CONNECTIONS = 1_000;
const OPEN_LOOP_WARMUP_S = 2;
const OPEN_LOOP_MEASURE_S = 5;
/** Before each gateway row, the engine's outbox must have drained the previous row's orders. */
const OUTBOX_DRAIN_WAIT_MS_MAX = 120_000;
const OUTBOX_POLL_MS = 200;
/** Goals from the issue. */
const DURABLE_RATIO_GOAL = 0.5;
const SOLD_OUT_RATIO_GOAL = 0.9;
const P99_MS_GOAL = 50;
const P99_GOAL_CONNECTIONS = 1_000;

/** Where a row's CPU went: µs per reply for each process group, and how busy the cores were. */
function describeCpu(name: string, m: Measurement): string {
  if (m.cpu === undefined || m.cpu.replies === 0) return `  ${name}: not measured`;
  const { spent, replies } = m.cpu;
  const parts = [...spent.byGroup].map(
    ([group, ms]) => `${group} ${Math.round((ms * 1000) / replies)} µs`,
  );
  const busy = Math.round(spent.machineBusyShare * 100);
  return `  ${name}: ${parts.join(', ')}; all cores ${busy}% busy`;
}

const describe = (m: Measurement): string =>
  `p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms; ` +
  Object.entries(m.outcomes)
    .map(([outcome, count]) => `${outcome}: ${count.toLocaleString('en-US')}`)
    .join(', ');

/** The gateway's count of orders refused from its stock cache (its Prometheus counter). */
async function soldOutFastPathCount(gatewayUrl: string): Promise<number> {
  const metrics = String((await requestJson(`${gatewayUrl}/metrics`)).body);
  const line = /^flashsale_gateway_sold_out_fast_path_total (\d+)/m.exec(metrics);
  return Number(line?.[1] ?? 0);
}

/**
 * Waits until the engine has published every order of the previous row to JetStream: its outbox
 * works on after the load stops, and would otherwise take the next row's CPU.
 */
async function outboxDrained(engineMetricsUrl: string): Promise<void> {
  const deadline = Date.now() + OUTBOX_DRAIN_WAIT_MS_MAX;
  for (;;) {
    const metrics = String((await requestJson(engineMetricsUrl)).body);
    const backlog = Number(/^flashsale_engine_outbox_backlog (\d+)/m.exec(metrics)?.[1] ?? NaN);
    if (backlog === 0) return;
    if (Date.now() > deadline) throw new Error(`the engine's outbox still holds ${backlog}`);
    await delay(OUTBOX_POLL_MS);
  }
}

function openLoopRequests(requests: autocannon.Request[]): OpenLoopRequest[] {
  return requests.map((request) => ({
    path: request.path!,
    headers: request.headers as Record<string, string>,
    body: request.body as string,
  }));
}

async function measureOpenLoop(
  url: string,
  requests: autocannon.Request[],
  ratePerS: number,
): Promise<Measurement> {
  const result = await openLoop({
    url,
    connections: OPEN_LOOP_CONNECTIONS,
    ratePerS,
    warmupS: OPEN_LOOP_WARMUP_S,
    measureS: OPEN_LOOP_MEASURE_S,
    requests: openLoopRequests(requests),
  });
  const latency = summarizeLatencies([...result.latenciesMs]);
  return {
    perSecond: result.perSecond,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    outcomes: result.outcomes,
  };
}

async function prepareSales(gatewayUrl: string, tokens: TokenPool): Promise<void> {
  const admin = mintToken(JWT_SECRET, { sub: 'bench-admin', role: 'admin' });
  await configureSale(gatewayUrl, admin, OPEN_SALE, {
    name: 'Never runs out',
    stock: 1_000_000_000,
    perCustomerLimit: 1_000_000,
  });
  await configureSale(gatewayUrl, admin, SOLD_OUT_SALE, {
    name: 'Sold out',
    stock: 1,
    perCustomerLimit: 1,
  });
  const last = await requestJson(`${gatewayUrl}/v1/sales/${SOLD_OUT_SALE}/orders`, {
    method: 'POST',
    token: tokens.token(0),
    body: { quantity: 1 },
  });
  if (last.status !== 201) throw new Error(`selling the last unit: ${last.status}`);
}

interface GoalCheck {
  readonly met: boolean;
  readonly line: string;
}

function ratioGoal(name: string, ratio: number, goal: number): GoalCheck {
  return {
    met: ratio >= goal,
    line: `${name}: ${ratio.toFixed(2)}x the bare route, goal ≥ ${goal}x`,
  };
}

function p99Goal(name: string, measured: Measurement, goalMs: number): GoalCheck {
  return {
    met: measured.p99Ms < goalMs,
    line: `${name}: p99 ${measured.p99Ms.toFixed(1)} ms, goal < ${goalMs} ms`,
  };
}

interface Target {
  readonly url: string;
  /** The processes that serve it, the load generator (this process) included. */
  readonly processes: readonly ProcessGroup[];
}

interface Targets {
  readonly bare: Target;
  readonly gateway: Target;
  readonly unbatchedGateway: Target;
  readonly engineMetricsUrl: string;
}

async function run(
  targets: Targets,
): Promise<{ rows: BenchRow[]; goals: GoalCheck[]; cpuLines: string[] }> {
  const { bare: bareTarget, gateway, unbatchedGateway, engineMetricsUrl } = targets;
  const bareUrl = bareTarget.url;
  const gatewayUrl = gateway.url;
  const tokens = new TokenPool(JWT_SECRET, CUSTOMERS, 'bench-c');
  await prepareSales(gatewayUrl, tokens);
  const openOrders = ordersOfEveryCustomer(tokens, OPEN_SALE);
  const soldOutOrders = ordersOfEveryCustomer(tokens, SOLD_OUT_SALE);
  const rows: BenchRow[] = [];
  const goals: GoalCheck[] = [];
  const cpuLines: string[] = [];
  let durableCapacity = 0;
  for (const connections of CONNECTION_LEVELS) {
    const level = `${connections.toLocaleString('en-US')} conns`;
    const bare = await measure(bareUrl, openOrders, connections, bareTarget.processes);
    await outboxDrained(engineMetricsUrl);
    const durable = await measure(gatewayUrl, openOrders, connections, gateway.processes);
    await outboxDrained(engineMetricsUrl);
    const unbatched = await measure(
      unbatchedGateway.url,
      openOrders,
      connections,
      unbatchedGateway.processes,
    );
    await outboxDrained(engineMetricsUrl);
    const fastPathBefore = await soldOutFastPathCount(gatewayUrl);
    const soldOut = await measure(gatewayUrl, soldOutOrders, connections, gateway.processes);
    await delay(IN_FLIGHT_SETTLE_MS);
    // Warm-up and measurement, and the requests still in flight when autocannon stopped.
    const fromCache = (await soldOutFastPathCount(gatewayUrl)) - fastPathBefore;
    durableCapacity = durable.perSecond;
    cpuLines.push(
      describeCpu(`bare Fastify route, ${level}`, bare),
      describeCpu(`durable accepts, ${level}`, durable),
      describeCpu(`durable accepts unbatched, ${level}`, unbatched),
      describeCpu(`sold-out fast path, ${level}`, soldOut),
    );
    rows.push(
      {
        name: `bare Fastify route, ${level}`,
        value: bare.perSecond,
        unit: 'req/s',
        note: describe(bare),
      },
      {
        name: `durable accepts, ${level}`,
        value: durable.perSecond,
        unit: 'orders/s',
        baseline: 'bare route',
        ratio: durable.perSecond / bare.perSecond,
        note: describe(durable),
      },
      {
        name: `durable accepts unbatched, ${level}`,
        value: unbatched.perSecond,
        unit: 'orders/s',
        baseline: 'bare route',
        ratio: unbatched.perSecond / bare.perSecond,
        note: `batching buys ${(durable.perSecond / unbatched.perSecond).toFixed(2)}x; ${describe(unbatched)}`,
      },
      {
        name: `sold-out fast path, ${level}`,
        value: soldOut.perSecond,
        unit: 'req/s',
        baseline: 'bare route',
        ratio: soldOut.perSecond / bare.perSecond,
        note: `${describe(soldOut)}; gateway's stock-cache refusals in the run (with warm-up): ${fromCache.toLocaleString('en-US')}`,
      },
    );
    goals.push(
      ratioGoal(
        `durable accepts, ${level}`,
        durable.perSecond / bare.perSecond,
        DURABLE_RATIO_GOAL,
      ),
      ratioGoal(
        `sold-out fast path, ${level}`,
        soldOut.perSecond / bare.perSecond,
        SOLD_OUT_RATIO_GOAL,
      ),
    );
    if (connections === P99_GOAL_CONNECTIONS)
      goals.push(
        p99Goal(`durable accepts, ${level}, closed loop`, durable, P99_MS_GOAL),
        p99Goal(`sold-out fast path, ${level}, closed loop`, soldOut, P99_MS_GOAL),
        p99Goal(`(for scale) bare Fastify route, ${level}, closed loop`, bare, P99_MS_GOAL),
      );
  }
  // Latency at a load the durable path carries: the same offered rate for all three.
  const ratePerS = Math.max(100, Math.round((durableCapacity * OPEN_LOOP_LOAD_SHARE) / 100) * 100);
  const level = `${OPEN_LOOP_CONNECTIONS.toLocaleString('en-US')} conns at ${ratePerS.toLocaleString('en-US')}/s`;
  await outboxDrained(engineMetricsUrl);
  const openRows: [string, string, autocannon.Request[]][] = [
    ['bare Fastify route', bareUrl, openOrders],
    ['durable accepts', gatewayUrl, openOrders],
    ['sold-out fast path', gatewayUrl, soldOutOrders],
  ];
  for (const [name, url, requests] of openRows) {
    const measured = await measureOpenLoop(url, requests, ratePerS);
    await outboxDrained(engineMetricsUrl);
    rows.push({
      name: `${name}, ${level}`,
      value: measured.p99Ms,
      unit: 'ms p99',
      note: `open loop, latency from each request's scheduled time; ${describe(measured)}`,
    });
    if (name !== 'bare Fastify route')
      goals.push(p99Goal(`${name}, ${level}, open loop`, measured, P99_MS_GOAL));
  }
  return { rows, goals, cpuLines };
}

const stack = await startLocalStack({
  sales: [OPEN_SALE, SOLD_OUT_SALE],
  gateways: 1,
  jwtSecret: JWT_SECRET,
  gatewayEnv: GATEWAY_ENV,
  engineEnv: { MAILBOX_COMMANDS_MAX: '65536' },
});
const bare = await startBenchServer('bare-http-server.js');
let unbatched: QuietGateway | null = null;
try {
  unbatched = await startQuietGateway({
    natsUrl: stack.natsUrl,
    jwtSecret: JWT_SECRET,
    env: { ...GATEWAY_ENV, ENGINE_BATCH_ORDERS_MAX: '1' },
  });
  const backend = (gateway: { readonly pid?: number | undefined }): ProcessGroup[] => [
    processGroup('gateway', gateway),
    processGroup('engine', stack.engine),
    processGroup('nats-server', { pid: stack.natsPid }),
    LOAD_GENERATOR,
  ];
  const { rows, goals, cpuLines } = await run({
    bare: {
      url: bare.url,
      processes: [processGroup('bare server', bare.child), LOAD_GENERATOR],
    },
    gateway: { url: stack.gatewayUrls[0]!, processes: backend({ pid: stack.gateways[0]?.pid }) },
    unbatchedGateway: { url: unbatched.url, processes: backend(unbatched.process) },
    engineMetricsUrl: `http://127.0.0.1:${await stack.engine.metricsPort()}/metrics`,
  });
  printTable('bench:http — orders through one gateway, NATS and the engine, fsync per batch', rows);
  console.log('\nCPU per reply in each closed-loop window (user + system, from /proc):');
  for (const line of cpuLines) console.log(line);
  console.log('\ngoals from the issue:');
  for (const goal of goals) console.log(`  ${goal.met ? 'met   ' : 'missed'} ${goal.line}`);
} finally {
  bare.child.kill('SIGTERM');
  await unbatched?.process.kill('SIGTERM');
  await stack.stop();
}
