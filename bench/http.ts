import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import { requestJson } from '../scripts/lib/http-json.js';
import { summarizeLatencies } from '../scripts/lib/latency-stats.js';
import { startLocalStack } from '../scripts/lib/local-stack.js';
import { type QuietGateway, startQuietGateway } from '../scripts/lib/quiet-gateway.js';
import { configureSale } from '../scripts/lib/sale-admin.js';
import { PROJECT_ROOT } from '../scripts/lib/service-process.js';
import { TokenPool } from '../scripts/lib/token-pool.js';
import { mintToken } from '../scripts/lib/tokens.js';
import {
  type CpuReading,
  type CpuSpent,
  cpuBetween,
  LOAD_GENERATOR,
  type ProcessGroup,
  processGroup,
  readCpu,
} from './compare/cpu-usage.js';
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
const MEASURE_S = 4;
/** A throwaway run before each row: the first connection storm on a port (see `measure`). */
const CONNECT_WARMUP_S = 1;
/** Then, on the measured run's connections, at least this long unmeasured: JIT, stock cache. */
const WARMUP_S = 2;
/** How much longer the window waits for every connection's first reply (see `measure`). */
const FIRST_REPLY_WAIT_S_MAX = 5;
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

interface Measurement {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Status code → replies; errors and timeouts under their names. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** CPU each process group spent in the measured window, with the replies it covers. */
  readonly cpu?: { readonly spent: CpuSpent; readonly replies: number };
}

/**
 * Steady state on established connections. When hundreds of connections open at once, the first
 * reply on each can take seconds: autocannon builds every connection's requests before any is
 * sent (and times them from then), the server meets all first requests at once, and a listen
 * backlog of 511 (the bare server's) drops some SYNs, retried a second later. At ~20k replies
 * those few hundred set the p99 alone, for the bare route as much as the gateway. So each row
 * makes a throwaway run, then a run whose measured window opens after WARMUP_S and once every
 * connection has had a reply (or FIRST_REPLY_WAIT_S_MAX later, counting the laggards), and lasts
 * MEASURE_S. The opening storm itself is what `npm run burst` measures.
 */
async function measure(
  url: string,
  requests: autocannon.Request[],
  connections: number,
  processes: readonly ProcessGroup[],
): Promise<Measurement> {
  await new Promise((resolve, reject) =>
    autocannon({ url, connections, duration: CONNECT_WARMUP_S, requests }, (error, done) =>
      error ? reject(error) : resolve(done),
    ),
  );
  const latenciesMs: number[] = [];
  const outcomes: Record<string, number> = {};
  const answered = new Set<unknown>();
  let windowStart: number | null = null;
  let windowEnd = Number.POSITIVE_INFINITY;
  let lastCounted = 0;
  let cpuAtStart: CpuReading | null = null;
  let cpuAtEnd: CpuReading | null = null;
  let cpuAtEndTimer: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: WARMUP_S + FIRST_REPLY_WAIT_S_MAX + MEASURE_S + 1,
        requests,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    // autocannon() returns once its connections are set up, when its clock starts.
    const warmEnd = performance.now() + WARMUP_S * 1000;
    const giveUpWaiting = warmEnd + FIRST_REPLY_WAIT_S_MAX * 1000;
    // Every reply's latency, in fractional ms and whatever its status (autocannon's own histogram
    // keeps whole ms of 2xx replies only, and the sold-out row is all 409s). The listener really
    // gets the client first, which @types/autocannon leaves out, hence the plain EventEmitter.
    (instance as NodeJS.EventEmitter).on(
      'response',
      (client: unknown, status: number, _bytes: number, responseTimeMs: number) => {
        const now = performance.now();
        if (windowStart === null) {
          answered.add(client);
          if (now < warmEnd || (answered.size < connections && now < giveUpWaiting)) return;
          windowStart = now;
          windowEnd = now + MEASURE_S * 1000;
          cpuAtStart = readCpu(processes);
          // On a timer rather than at the first reply after the window: there may be none.
          cpuAtEndTimer = setTimeout(() => {
            cpuAtEnd = readCpu(processes);
          }, MEASURE_S * 1000);
          if (answered.size < connections)
            outcomes['connections unanswered in warm-up'] = connections - answered.size;
        }
        if (now >= windowEnd) {
          instance.stop();
          return;
        }
        lastCounted = now;
        latenciesMs.push(responseTimeMs);
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      },
    );
  });
  if (result.errors > 0) outcomes['errors (whole run)'] = result.errors;
  if (result.timeouts > 0) outcomes['timeouts (whole run)'] = result.timeouts;
  const latency = summarizeLatencies(latenciesMs);
  // The window is MEASURE_S unless the run's time cap ended it first.
  const measuredMs =
    windowStart === null
      ? 0
      : Math.min(windowEnd, Math.max(lastCounted, windowStart)) - windowStart;
  // The run's time cap may have ended it before the window did.
  clearTimeout(cpuAtEndTimer);
  cpuAtEnd ??= readCpu(processes);
  return {
    perSecond: measuredMs > 0 ? latenciesMs.length / (measuredMs / 1000) : 0,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    outcomes,
    ...(cpuAtStart === null
      ? {}
      : { cpu: { spent: cpuBetween(cpuAtStart, cpuAtEnd), replies: latenciesMs.length } }),
  };
}

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

async function startBareServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(join(PROJECT_ROOT, 'dist/bench/bare-http-server.js'));
  const [message] = (await once(child, 'message')) as [{ port: number }];
  return { url: `http://127.0.0.1:${message.port}`, child };
}

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
const bare = await startBareServer();
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
