import { parseArgs } from 'node:util';

// bench:compare's settings from the command line. The defaults are the issue's: a 5,000-request
// opening burst from 2,000 customers on 100 units (2 each), and 256 connections ordering back to
// back on a stock that never runs out, each order from a new customer. `--short` is the form the
// test suite runs.

export interface CompareOptions {
  readonly burstRequests: number;
  readonly burstCustomers: number;
  readonly burstConcurrency: number;
  readonly burstStock: number;
  readonly burstCap: number;
  /** Connections of the steady load. */
  readonly steadyClients: number;
  /** Distinct customers of the steady load, one signed token each, minted before any load. */
  readonly steadyCustomers: number;
  readonly steadyWarmUpMs: number;
  readonly steadyMeasureMs: number;
  /** Length of the warm-up both systems get before the burst (JIT, connections, pools). */
  readonly warmUpMs: number;
  /** Pause between two loads, so one system's after-work (fsyncs, checkpoints) ends first. */
  readonly settleMs: number;
  readonly seed: number;
}

const FULL: CompareOptions = {
  burstRequests: 5_000,
  burstCustomers: 2_000,
  // Requests in flight at once: all of them would open 5,000 connections together; 500 stays
  // within the listen backlog Node uses by default (511), so no client waits out a SYN retry.
  burstConcurrency: 500,
  burstStock: 100,
  burstCap: 2,
  steadyClients: 256,
  // ~15k orders/s for warm-up and window on a fast day: no customer repeats.
  steadyCustomers: 150_000,
  steadyWarmUpMs: 1_000,
  steadyMeasureMs: 5_000,
  warmUpMs: 1_000,
  settleMs: 2_000,
  seed: 7,
};

const SHORT: CompareOptions = {
  ...FULL,
  burstRequests: 1_000,
  burstCustomers: 400,
  burstConcurrency: 200,
  steadyCustomers: 40_000,
  steadyWarmUpMs: 500,
  steadyMeasureMs: 2_000,
  warmUpMs: 500,
  settleMs: 500,
};

export const USAGE = `npm run bench:compare -- [--short] [--burst-requests N] [--burst-customers N]
  [--burst-concurrency N] [--steady-clients N] [--steady-customers N] [--steady-seconds S]
  [--seed N]`;

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, not ${text}\n${USAGE}`);
  return value;
}

export function parseCompareOptions(argv: readonly string[]): CompareOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      short: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      'burst-requests': { type: 'string' },
      'burst-customers': { type: 'string' },
      'burst-concurrency': { type: 'string' },
      'steady-clients': { type: 'string' },
      'steady-customers': { type: 'string' },
      'steady-seconds': { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const base = values.short ? SHORT : FULL;
  return {
    ...base,
    burstRequests: positiveInteger('burst-requests', values['burst-requests'], base.burstRequests),
    burstCustomers: positiveInteger(
      'burst-customers',
      values['burst-customers'],
      base.burstCustomers,
    ),
    burstConcurrency: positiveInteger(
      'burst-concurrency',
      values['burst-concurrency'],
      base.burstConcurrency,
    ),
    steadyClients: positiveInteger('steady-clients', values['steady-clients'], base.steadyClients),
    steadyCustomers: positiveInteger(
      'steady-customers',
      values['steady-customers'],
      base.steadyCustomers,
    ),
    steadyMeasureMs:
      positiveInteger('steady-seconds', values['steady-seconds'], base.steadyMeasureMs / 1000) *
      1000,
    seed: positiveInteger('seed', values.seed, base.seed),
  };
}
