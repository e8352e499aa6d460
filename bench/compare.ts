import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { TokenPool } from '../scripts/lib/token-pool.js';
import { mintToken } from '../scripts/lib/tokens.js';
import { type CompareOptions, parseCompareOptions, USAGE } from './compare/options.js';
import {
  comparisonRows,
  printAudits,
  printComparison,
  printCpu,
  printGoals,
} from './compare/report.js';
import { createSale, type RunResult, runBurst, runSteady } from './compare/scenarios.js';
import { runSteadyClients } from './compare/steady-client.js';
import { type Systems, type SystemUnderTest, startSystems } from './compare/systems.js';

// `npm run bench:compare`: our design (gateway → NATS → engine deciding in memory, WAL group
// commit) against the conventional one (Redis per-customer counter + Redis lock per
// customer:sale + a PostgreSQL transaction on the sale's row), both on this machine, loaded by the
// same generator in the same run:
//   (a) burst  — the opening second on 100 units, audited for I1–I3;
//   (b) steady — durable accepts from 256 clients on a stock that never runs out.
// Prints the table with ratios ours/conventional; exits 1 if either system broke an invariant.

const JWT_SECRET = 'bench-compare-secret-0123456789abcdef';
const SALES = { warmUp: 'compare-warm-up', burst: 'compare-burst', steady: 'compare-steady' };
/** A stock and cap no run reaches: every order of the steady run is accepted. */
const OPEN_ENDED_SALE = { stock: 1_000_000_000, perCustomerLimit: 1_000_000 };
/** Clients of the warm-up each system gets before the burst. */
const WARM_UP_CLIENTS = 64;

async function bothSystems(
  systems: Systems,
  settleMs: number,
  what: string,
  run: (system: SystemUnderTest) => Promise<RunResult>,
): Promise<{ ours: RunResult; conventional: RunResult }> {
  console.log(`${what}: ours…`);
  const ours = await run(systems.ours);
  await delay(settleMs);
  console.log(`${what}: conventional…`);
  const conventional = await run(systems.conventional);
  await delay(settleMs);
  return { ours, conventional };
}

async function compare(systems: Systems, options: CompareOptions): Promise<boolean> {
  const loadAtStart = loadavg()[0]!;
  const admin = mintToken(JWT_SECRET, { sub: 'bench-admin', role: 'admin' });
  const burstSale = { stock: options.burstStock, perCustomerLimit: options.burstCap };
  for (const system of [systems.ours, systems.conventional]) {
    await createSale(system, admin, SALES.warmUp, OPEN_ENDED_SALE);
    await createSale(system, admin, SALES.burst, burstSale);
    await createSale(system, admin, SALES.steady, OPEN_ENDED_SALE);
  }
  const burstCustomers = new TokenPool(JWT_SECRET, options.burstCustomers, `burst-${process.pid}-`);
  const steadyCustomers = new TokenPool(
    JWT_SECRET,
    options.steadyClients,
    `steady-${process.pid}-`,
  );

  for (const system of [systems.ours, systems.conventional]) {
    console.log(`warm-up: ${system.name}…`);
    await runSteadyClients(
      system.url,
      SALES.warmUp,
      (client) => steadyCustomers.token(client % steadyCustomers.size),
      { clients: WARM_UP_CLIENTS, warmUpMs: 0, measureMs: options.warmUpMs },
    );
  }
  await delay(options.settleMs);

  const burst = await bothSystems(systems, options.settleMs, 'burst', (system) =>
    runBurst(
      system,
      SALES.burst,
      burstSale,
      {
        customers: options.burstCustomers,
        requests: options.burstRequests,
        concurrency: options.burstConcurrency,
        seed: options.seed,
      },
      burstCustomers,
    ),
  );
  const steady = await bothSystems(systems, options.settleMs, 'steady', (system) =>
    runSteady(
      system,
      SALES.steady,
      OPEN_ENDED_SALE,
      {
        clients: options.steadyClients,
        warmUpMs: options.steadyWarmUpMs,
        measureMs: options.steadyMeasureMs,
      },
      steadyCustomers,
    ),
  );

  printComparison(
    `bench:compare — (a) burst: ${options.burstRequests.toLocaleString('en-US')} orders from ` +
      `${options.burstCustomers.toLocaleString('en-US')} customers, ${options.burstConcurrency} ` +
      `in flight, on ${options.burstStock} units (cap ${options.burstCap}); (b) steady: ` +
      `${options.steadyClients} clients for ${options.steadyMeasureMs / 1000} s after ` +
      `${options.steadyWarmUpMs / 1000} s of warm-up`,
    comparisonRows({ ...burst, stock: options.burstStock, cap: options.burstCap }, steady),
  );

  printCpu(steady);
  printAudits({ burst, steady });
  // Both systems share this machine's cores with the generator: anything else running skews the
  // absolute figures, so the run says how busy the machine was.
  console.log(
    `\nLoad average (1 min) at the start: ${loadAtStart.toFixed(2)}, ` +
      `at the end: ${loadavg()[0]!.toFixed(2)}`,
  );
  printGoals(burst, steady);
  return [burst.ours, burst.conventional, steady.ours, steady.conventional].every(
    (r) => r.audit.ok,
  );
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
