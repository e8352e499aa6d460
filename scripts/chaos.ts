import { parseArgs } from 'node:util';
import { runStackChaos } from './lib/stack-chaos.js';
import { formatStackChaosReport } from './lib/stack-chaos-report.js';

// `npm run chaos [-- --rounds 50 --seed N --customers 60 --stock 100 --cap 3]`: the whole stack
// (private NATS, engine, two gateways, shipping agent, flaky fake carrier) under bursts of orders
// through HTTP while a random process is SIGKILLed and restarted each round; then an audit table.
// Exits 1 on any breach, 64 on bad arguments. A run's plan repeats with its printed seed.

const USAGE =
  'usage: chaos [--rounds N] [--seed N] [--customers N] [--stock N] [--cap N] [--settle-ms N]';
const ROUNDS_DEFAULT = 50;
/** Customers per round, each pressing "buy" 1–3 times for 1–2 units: ~180 units asked. */
const CUSTOMERS_DEFAULT = 60;
/** Below what the customers ask for, so most rounds sell out mid-burst (I1 under pressure). */
const STOCK_DEFAULT = 100;
/** Above one order's 2 units, so the cap is reached over several orders (I2 across orders). */
const CAP_DEFAULT = 3;
const SETTLE_MS_DEFAULT = 60_000;

function wholeNumber(name: string, value: string | undefined, fallback: number, min: number) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be a whole number >= ${min}\n${USAGE}`);
    process.exit(64);
  }
  return n;
}

let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      seed: { type: 'string' },
      customers: { type: 'string' },
      stock: { type: 'string' },
      cap: { type: 'string' },
      'settle-ms': { type: 'string' },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(64);
}

const seed = wholeNumber('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0);
const rounds = wholeNumber('rounds', values.rounds, ROUNDS_DEFAULT, 1);
const customersPerRound = wholeNumber('customers', values.customers, CUSTOMERS_DEFAULT, 1);
const stockPerSale = wholeNumber('stock', values.stock, STOCK_DEFAULT, 1);
const perCustomerLimit = wholeNumber('cap', values.cap, CAP_DEFAULT, 1);
const settleTimeoutMs = wholeNumber('settle-ms', values['settle-ms'], SETTLE_MS_DEFAULT, 0);

// Ctrl-C or a SIGTERM (a CI timeout) stops the stack's processes before leaving: none is orphaned.
const stopping = new AbortController();
/** The shell's convention: 128 + the signal's number. */
const EXIT_ON_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;
let exitOnSignal = 1;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`${signal}: stopping the stack`);
    exitOnSignal = EXIT_ON_SIGNAL[signal];
    stopping.abort();
  });

console.log(`chaos: ${rounds} rounds, seed ${seed} (repeat the plan with --seed ${seed})`);
let report: Awaited<ReturnType<typeof runStackChaos>>;
try {
  report = await runStackChaos({
    rounds,
    seed,
    customersPerRound,
    stockPerSale,
    perCustomerLimit,
    settleTimeoutMs,
    log: (line) => console.log(line),
    signal: stopping.signal,
  });
} catch (error) {
  console.error(`chaos run failed: ${(error as Error).stack ?? error}`);
  // Whatever the rounds left running (a client's retries) must not keep the process alive.
  process.exit(stopping.signal.aborted ? exitOnSignal : 1);
}
console.log(formatStackChaosReport(report));
if (report.gaveUpSample.length > 0)
  console.log(
    `clients that gave up (outcome unknown to them, not a breach), e.g.:\n  ${report.gaveUpSample.join('\n  ')}`,
  );
process.exitCode = report.breaches.length === 0 ? 0 : 1;
