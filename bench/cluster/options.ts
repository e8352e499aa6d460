import { readCommandLine, wholeNumber, wholeSecondsMs } from '../../scripts/cli/command-line.js';

// bench:cluster's settings from its command line. The defaults are the measured run's; `--short`
// is a smoke run (a couple of seconds per stack), the form the test suite runs.

export interface ClusterBenchOptions {
  /** Each round measures npm start, then the rehearsal: two rounds show the drift between. */
  readonly rounds: number;
  /** Closed-loop connections, split evenly over the stack's gateways. */
  readonly connections: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
  /** Distinct customers (one signed token each), minted before the first stack starts. */
  readonly tokens: number;
  /** Sales created through the API on each stack, each one's first order timed. */
  readonly newSales: number;
  /** Each round measures the rehearsal first, then npm start: whether the order matters. */
  readonly rehearsalFirst: boolean;
}

const FULL: ClusterBenchOptions = {
  rounds: 2,
  connections: 256,
  warmUpMs: 3_000,
  measureMs: 10_000,
  // At ~5k accepts/s over warm-up and window, a row sends ~65k requests: none repeats a token.
  tokens: 150_000,
  newSales: 5,
  rehearsalFirst: false,
};

const SHORT: ClusterBenchOptions = {
  rounds: 1,
  connections: 32,
  warmUpMs: 1_000,
  measureMs: 2_000,
  tokens: 20_000,
  newSales: 2,
  rehearsalFirst: false,
};

export const USAGE = `npm run bench:cluster -- [--short] [--rounds 2] [--connections 256]
  [--warm-up-seconds 3] [--seconds 10] [--tokens 150000] [--new-sales 5] [--rehearsal-first]

  --short          a smoke run: one round, a couple of seconds per stack, small pools
  --rounds R       each round measures npm start's stack, then the rehearsal's
  --connections N  closed-loop connections, split evenly over each stack's gateways
  --seconds S      each stack's measured window
  --tokens N       distinct customers (one signed token each), minted before the first stack
  --new-sales N    sales created through the API on each stack, each one's first order timed
  --rehearsal-first  each round measures the rehearsal before npm start`;

const OPTIONS = {
  short: { type: 'boolean' },
  rounds: { type: 'string' },
  connections: { type: 'string' },
  'warm-up-seconds': { type: 'string' },
  seconds: { type: 'string' },
  tokens: { type: 'string' },
  'new-sales': { type: 'string' },
  'rehearsal-first': { type: 'boolean' },
} as const;

export function readClusterBenchOptions(args?: readonly string[]): ClusterBenchOptions {
  return readCommandLine(
    USAGE,
    OPTIONS,
    (values) => {
      const base = values.short === true ? SHORT : FULL;
      return {
        rounds: wholeNumber('rounds', values.rounds, 1, base.rounds),
        // Two gateways on each stack: at least a connection each.
        connections: wholeNumber('connections', values.connections, 2, base.connections),
        warmUpMs: wholeSecondsMs('warm-up-seconds', values['warm-up-seconds'], 0, base.warmUpMs),
        measureMs: wholeSecondsMs('seconds', values.seconds, 1, base.measureMs),
        tokens: wholeNumber('tokens', values.tokens, 1, base.tokens),
        newSales: wholeNumber('new-sales', values['new-sales'], 1, base.newSales),
        rehearsalFirst: values['rehearsal-first'] === true,
      };
    },
    args,
  );
}
