import {
  readCommandLine,
  UsageError,
  wholeNumber,
  wholeSecondsMs,
} from '../../scripts/cli/command-line.js';

// bench:waiting-room's settings from its command line. The defaults are the goals (20,000
// customers, a minute and more at 200 admitted a second, 10,000 sockets while the queue grows
// 1,000 → 100,000); the flags shrink every row for a smoke run (the test suite's).

export interface WaitingRoomBenchOptions {
  /** Customers (distinct tokens) who solve a cheap challenge and join the lobby. */
  readonly customers: number;
  /** Customers, solving and joining, at once (the load generator's concurrency). */
  readonly concurrency: number;
  /** The room's admitPerSecond: the admission of the lobby is the rate row's measurement. */
  readonly admitPerSecond: number;
  /** Solves of a challenge at the gateway's default cost, timed one after another. */
  readonly solves: number;
  /** Live sockets following the queue on one gateway. */
  readonly sockets: number;
  /** The number waiting at each row of the sockets' rows, growing. */
  readonly waiting: readonly number[];
  /** Each sockets row's measured window. */
  readonly measureMs: number;
}

const FULL: WaitingRoomBenchOptions = {
  customers: 20_000,
  concurrency: 64,
  admitPerSecond: 200,
  solves: 40,
  sockets: 10_000,
  waiting: [1_000, 10_000, 100_000],
  measureMs: 10_000,
};

export const USAGE = `npm run bench:waiting-room -- [--customers 20000] [--concurrency 64]
  [--admit-per-second 200] [--solves 40] [--sockets 10000] [--waiting 1000,10000,100000]
  [--seconds 10]

  --customers N         customers who join the lobby through the gateways (a cheap proof of work)
                        and are admitted at --admit-per-second; the audit reads every one back
  --admit-per-second R  the room's rate; the rate row wants a minute of admissions (N ≥ 60 R)
  --solves S            challenges solved at the default POW_COST, one after another
  --sockets K           live sockets on one gateway following a queue
  --waiting A,B,C       the queue's size at each sockets row (grown over NATS, see the report)
  --seconds T           each sockets row's measured window`;

const OPTIONS = {
  customers: { type: 'string' },
  concurrency: { type: 'string' },
  'admit-per-second': { type: 'string' },
  solves: { type: 'string' },
  sockets: { type: 'string' },
  waiting: { type: 'string' },
  seconds: { type: 'string' },
} as const;

function growingSizes(text: string | undefined): number[] {
  if (text === undefined) return [...FULL.waiting];
  const sizes = text.split(',').map((part) => wholeNumber('waiting', part, 1, 0));
  if (sizes.some((size, i) => i > 0 && size <= (sizes[i - 1] as number)))
    throw new UsageError('--waiting takes growing sizes, such as 1000,10000,100000');
  return sizes;
}

export function readWaitingRoomBenchOptions(args?: readonly string[]): WaitingRoomBenchOptions {
  return readCommandLine(
    USAGE,
    OPTIONS,
    (values) => ({
      customers: wholeNumber('customers', values.customers, 2, FULL.customers),
      concurrency: wholeNumber('concurrency', values.concurrency, 1, FULL.concurrency),
      admitPerSecond: wholeNumber(
        'admit-per-second',
        values['admit-per-second'],
        1,
        FULL.admitPerSecond,
      ),
      solves: wholeNumber('solves', values.solves, 1, FULL.solves),
      sockets: wholeNumber('sockets', values.sockets, 1, FULL.sockets),
      waiting: growingSizes(values.waiting),
      measureMs: wholeSecondsMs('seconds', values.seconds, 1, FULL.measureMs),
    }),
    args,
  );
}
