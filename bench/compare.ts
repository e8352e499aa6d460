import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { TokenPool } from '../scripts/client/token-pool.js';
import { mintToken } from '../scripts/client/tokens.js';
import { type CompareOptions, parseCompareOptions, USAGE } from './compare/options.js';
import {
  comparisonRows,
  printAudits,
  printComparison,
  printCpu,
  printGoals,
} from './compare/report.js';
import { createSale, type RunResult, runBurst, runSteady } from './compare/scenarios.js';
import { type Systems, type SystemUnderTest, startSystems } from './compare/systems.js';
import { closedLoop } from './load/closed-loop.js';
import { endpointOf } from './load/load-connection.js';
import { orderRequests } from './load/request-pool.js';

// `npm run bench:compare`: our design (gateway → NATS → engine deciding in memory, WAL group
// commit) against the conventional one (Redis per-customer counter + Redis lock per
// customer:sale + a PostgreSQL transaction on the sale's row), both on this machine, loaded by the
// same generator in the same run:
//   (a) burst  — the opening second on 100 units, audited for I1–I3;
//   (b) steady — durable accepts on a stock that never runs out, from 256 connections, each
//       request from a new customer with a token of its own (the opening second's mix).
// Prints the table with ratios ours/conventional; exits 1 if either system broke an invariant.

const JWT_SECRET = 'bench-compare-secret-0123456789abcdef';
const SALES = { warmUp: 'compare-warm-up', burst: 'compare-burst', steady: 'compare-steady' };
/** A stock and cap no run reaches: every order of the steady run is accepted. */
const OPEN_ENDED_SALE = { stock: 1_000_000_000, perCustomerLimit: 1_000_000 };
/** Connections of the warm-up each system gets before the burst. */
const WARM_UP_CLIENTS = 64;

interface Pair {
  readonly ours: RunResult;
  readonly conventional: RunResult;
}

async function bothSystems(
  systems: Systems,
  settleMs: number,
  what: string,
  run: (system: SystemUnderTest) => Promise<RunResult>,
): Promise<Pair> {
  console.log(`${what}: ours…`);
  const ours = await run(systems.ours);
  await delay(settleMs);
  console.log(`${what}: conventional…`);
  const conventional = await run(systems.conventional);
  await delay(settleMs);
  return { ours, conventional };
}

interface Customers {
  readonly burst: TokenPool;
  readonly steady: TokenPool;
}

/** Both systems' sales, and the customers' tokens, minted before any load. */
async function prepare(systems: Systems, options: CompareOptions): Promise<Customers> {
  const admin = mintToken(JWT_SECRET, { sub: 'bench-admin', role: 'admin' });
  for (const system of [systems.ours, systems.conventional]) {
    await createSale(system, admin, SALES.warmUp, OPEN_ENDED_SALE);
    await createSale(system, admin, SALES.burst, burstSaleOf(options));
    await createSale(system, admin, SALES.steady, OPEN_ENDED_SALE);
  }
  console.log(`minting ${options.steadyCustomers.toLocaleString('en-US')} customers' tokens…`);
  return {
    burst: new TokenPool(JWT_SECRET, options.burstCustomers, `burst-${process.pid}-`),
    steady: new TokenPool(JWT_SECRET, options.steadyCustomers, `steady-${process.pid}-`),
  };
}

const burstSaleOf = (options: CompareOptions) => ({
  stock: options.burstStock,
  perCustomerLimit: options.burstCap,
});

/** JIT, connections and pools warmed on a sale of their own, the steady load's way. */
async function warmUp(systems: Systems, customers: TokenPool, options: CompareOptions) {
  for (const system of [systems.ours, systems.conventional]) {
    console.log(`warm-up: ${system.name}…`);
    await closedLoop({
      url: system.url,
      connections: WARM_UP_CLIENTS,
      pool: orderRequests({
        endpoint: endpointOf(system.url),
        saleId: SALES.warmUp,
        customers,
        idempotencyKeyPrefix: `${SALES.warmUp}-`,
      }),
      shape: { warmUpMs: 0, measureMs: options.warmUpMs },
    });
  }
  await delay(options.settleMs);
}

async function compare(systems: Systems, options: CompareOptions): Promise<boolean> {
  const loadAtStart = loadavg()[0]!;
  const customers = await prepare(systems, options);
  await warmUp(systems, customers.steady, options);
  const burstShape = {
    customers: options.burstCustomers,
    requests: options.burstRequests,
    concurrency: options.burstConcurrency,
    seed: options.seed,
  };
  const burst = await bothSystems(systems, options.settleMs, 'burst', (system) =>
    runBurst(system, SALES.burst, burstSaleOf(options), burstShape, customers.burst),
  );
  const steadyShape = {
    clients: options.steadyClients,
    warmUpMs: options.steadyWarmUpMs,
    measureMs: options.steadyMeasureMs,
  };
  const steady = await bothSystems(systems, options.settleMs, 'steady', (system) =>
    runSteady(system, SALES.steady, OPEN_ENDED_SALE, steadyShape, customers.steady),
  );
  report(options, burst, steady, loadAtStart);
  return [burst.ours, burst.conventional, steady.ours, steady.conventional].every(
    (r) => r.audit.ok,
  );
}

function report(options: CompareOptions, burst: Pair, steady: Pair, loadAtStart: number): void {
  printComparison(
    `bench:compare — (a) burst: ${options.burstRequests.toLocaleString('en-US')} orders from ` +
      `${options.burstCustomers.toLocaleString('en-US')} customers, ${options.burstConcurrency} ` +
      `in flight, on ${options.burstStock} units (cap ${options.burstCap}); (b) steady: ` +
      `${options.steadyClients} connections, a new customer per order, for ` +
      `${options.steadyMeasureMs / 1000} s after ${options.steadyWarmUpMs / 1000} s of warm-up`,
    comparisonRows({ ...burst, stock: options.burstStock, cap: options.burstCap }, steady),
  );
  printCpu('burst, first request to last reply', burst, 'reply');
  printCpu('steady window', steady, 'accepted order');
  printAudits({ burst, steady });
  // Both systems share this machine's cores with the generator: anything else running skews the
  // absolute figures, so the run says how busy the machine was.
  console.log(
    `\nLoad average (1 min) at the start: ${loadAtStart.toFixed(2)}, ` +
      `at the end: ${loadavg()[0]!.toFixed(2)}`,
  );
  printGoals(burst, steady);
}

async function main(): Promise<void> {
  const options = parseCompareOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  console.log('starting both systems (nats-server, engine, gateway; PostgreSQL database, server)…');
  const systems = await startSystems(JWT_SECRET, Object.values(SALES));
  const interrupted = () => {
    void systems.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let correct = false;
  try {
    correct = await compare(systems, options);
  } finally {
    await systems.stop();
  }
  if (!correct) {
    console.log('\nAn invariant broke (see the audit above).');
    process.exitCode = 1;
  }
}

await main();
