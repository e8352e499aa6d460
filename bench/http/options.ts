import {
  readCommandLine,
  UsageError,
  wholeNumber,
  wholeSecondsMs,
} from '../../scripts/cli/command-line.js';

// bench:http's settings from its command line. The defaults are the measured run's; `--short`
// is a smoke run of every row (about a second each), the form the test suite runs.

export interface HttpBenchOptions {
  /** Closed-loop rows, each measured at every one of these connection counts. */
  readonly connections: readonly number[];
  readonly warmUpMs: number;
  readonly measureMs: number;
  /** Distinct customers, each with its own token, minted before any row. */
  readonly tokens: number;
  /** The burst on a 100-unit sale: how many orders, over how many connections. */
  readonly burstRequests: number;
  readonly burstConnections: number;
  readonly openLoopConnections: number;
  /** The open loop's rate; 0: half the durable path's closed-loop rate at the same connections. */
  readonly openLoopRatePerS: number;
  /** Whether to run the row against `npm start`'s own stack. */
  readonly npmStart: boolean;
}

const FULL: HttpBenchOptions = {
  connections: [256, 1_000],
  warmUpMs: 2_000,
  measureMs: 5_000,
  // At ~30k replies/s for warm-up and window, a row sends ~210k requests: none repeats a token.
  tokens: 250_000,
  burstRequests: 20_000,
  burstConnections: 1_000,
  openLoopConnections: 1_000,
  openLoopRatePerS: 0,
  npmStart: true,
};

const SHORT: HttpBenchOptions = {
  ...FULL,
  connections: [50, 200],
  warmUpMs: 500,
  measureMs: 1_000,
  tokens: 30_000,
  burstRequests: 2_000,
  burstConnections: 200,
  openLoopConnections: 200,
};

export const USAGE = `npm run bench:http -- [--short] [--connections 256,1000] [--warm-up-seconds 2]
  [--seconds 5] [--tokens 250000] [--burst-requests 20000] [--burst-connections 1000]
  [--open-loop-connections 1000] [--open-loop-rate N] [--no-npm-start]

  --short           a smoke run: every row for about a second, small pools
  --seconds S       each row's measured window (the open loop's too)
  --tokens N        distinct customers (one signed token each), minted before the first row;
                    a row that sends more starts over and says how many repeated
  --open-loop-rate  requests/s of the open-loop rows (default: half the durable rate measured
                    at as many connections in the same run)
  --no-npm-start    leave out the row against npm start's own stack`;

const OPTIONS = {
  short: { type: 'boolean' },
  connections: { type: 'string' },
  'warm-up-seconds': { type: 'string' },
  seconds: { type: 'string' },
  tokens: { type: 'string' },
  'burst-requests': { type: 'string' },
  'burst-connections': { type: 'string' },
  'open-loop-connections': { type: 'string' },
  'open-loop-rate': { type: 'string' },
  'no-npm-start': { type: 'boolean' },
} as const;

function connectionCounts(text: string | undefined, fallback: readonly number[]): number[] {
  if (text === undefined) return [...fallback];
  const counts = text.split(',').map((part) => wholeNumber('connections', part, 1, 0));
  if (counts.length === 0) throw new UsageError('--connections takes a list such as 256,1000');
  return counts;
}

export function readHttpBenchOptions(args?: readonly string[]): HttpBenchOptions {
  return readCommandLine(
    USAGE,
    OPTIONS,
    (values) => {
      const base = values.short === true ? SHORT : FULL;
      return {
        connections: connectionCounts(values.connections, base.connections),
        warmUpMs: wholeSecondsMs('warm-up-seconds', values['warm-up-seconds'], 0, base.warmUpMs),
        measureMs: wholeSecondsMs('seconds', values.seconds, 1, base.measureMs),
        tokens: wholeNumber('tokens', values.tokens, 1, base.tokens),
        burstRequests: wholeNumber(
          'burst-requests',
          values['burst-requests'],
          1,
          base.burstRequests,
        ),
        burstConnections: wholeNumber(
          'burst-connections',
          values['burst-connections'],
          1,
          base.burstConnections,
        ),
        openLoopConnections: wholeNumber(
          'open-loop-connections',
          values['open-loop-connections'],
          1,
          base.openLoopConnections,
        ),
        openLoopRatePerS: wholeNumber('open-loop-rate', values['open-loop-rate'], 1, 0),
        npmStart: values['no-npm-start'] !== true,
      };
    },
    args,
  );
}
