import { readCommandLine, UsageError, wholeNumber } from '../scripts/cli/command-line.js';
import { TokenPool } from '../scripts/client/token-pool.js';
import { drained, type FloorRow, ROWS, type RowName, startFloors } from './floor/floors.js';
import { closedLoop, type MeasuredRun } from './load/closed-loop.js';
import { endpointOf } from './load/load-connection.js';
import { orderRequests } from './load/request-pool.js';
import { type BenchRow, printTable } from './table.js';

// `npm run bench:http-floor`: how close to bench:http's ratio goals an implementation of
// DESIGN.md's shape can come on this machine, with this stack (Fastify, nats.js, fast-jwt,
// prom-client, @fastify/rate-limit) and this process shape (one HTTP process, NATS, one engine
// process). Each row is a floor: it does less than our gateway and engine must. It is measured as
// bench:http measures (bench/load, the opening second's mix: a new customer and token on every
// request, a window on established connections, the same bare Fastify route as baseline), in
// rounds whose row order rotates, so that the machine's drift falls on every row alike:
//   relay, echo           — Fastify → NATS request-reply (orders batched per turn) → an answer;
//   relay, durable        — the same, the responder committing each batch to a file with
//                           fdatasync before it answers and publishing one JetStream message per
//                           order afterwards (I3, I4);
//   contract, durable     — the same behind what issue 5 asks of every request: JWT, schema,
//                           per-customer rate limit, Prometheus metrics, request id, pino;
//   contract, sold out    — a 409 SOLD_OUT from the route after that same work: the fast path.
// The rows' processes are bench/floor/*.

const DURABLE_RATIO_GOAL = 0.5;
const SOLD_OUT_RATIO_GOAL = 0.9;
const JWT_SECRET = 'bench-floor-secret-0123456789abcdef';
/** Each row's unmeasured start on its connections: JIT, pools. */
const WARM_UP_MS = 2_000;
const USAGE =
  'npm run bench:http-floor -- [--rounds 3] [--connections 100,1000] [--seconds 4] [--tokens 250000]';

interface Options {
  readonly rounds: number;
  readonly connections: readonly number[];
  readonly seconds: number;
  /** Distinct customers, one signed token each, minted before the first row. */
  readonly tokens: number;
}

function options(): Options {
  return readCommandLine(
    USAGE,
    {
      rounds: { type: 'string' },
      connections: { type: 'string' },
      seconds: { type: 'string' },
      tokens: { type: 'string' },
    } as const,
    (values) => {
      const connections = (values.connections ?? '100,1000')
        .split(',')
        .map((part) => wholeNumber('connections', part, 1, 0));
      if (connections.length === 0) throw new UsageError('--connections takes a list');
      return {
        rounds: wholeNumber('rounds', values.rounds, 1, 3),
        connections,
        seconds: wholeNumber('seconds', values.seconds, 1, 4),
        tokens: wholeNumber('tokens', values.tokens, 1, 250_000),
      };
    },
  );
}

/** Measures a row; throws unless every reply had the row's status (a floor that fails is none). */
async function measureRow(
  row: FloorRow,
  customers: TokenPool,
  connections: number,
  seconds: number,
): Promise<MeasuredRun> {
  const measured = await closedLoop({
    url: row.url,
    connections,
    pool: orderRequests({ endpoint: endpointOf(row.url), saleId: row.saleId, customers }),
    shape: { warmUpMs: WARM_UP_MS, measureMs: seconds * 1000 },
    processes: row.groups,
  });
  await drained(row.responder);
  const other = Object.entries(measured.outcomes).filter(
    ([outcome]) => outcome !== String(row.status),
  );
  if (other.length > 0 || measured.failed > 0)
    throw new Error(
      `${row.url}: replies other than ${row.status}: ${JSON.stringify(other)}; ` +
        `${measured.failed} without a reply`,
    );
  return measured;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  const shape = options();
  console.log(`minting ${shape.tokens.toLocaleString('en-US')} customers' tokens…`);
  const customers = new TokenPool(JWT_SECRET, shape.tokens, `floor-${process.pid}-`);
  const floors = await startFloors(JWT_SECRET);
  try {
    for (const connections of shape.connections) {
      const rounds = new Map<RowName, MeasuredRun[]>(ROWS.map((name) => [name, []]));
      for (let round = 0; round < shape.rounds; round += 1) {
        console.log(`${connections} connections, round ${round + 1} of ${shape.rounds}…`);
        const order = [...ROWS.slice(round % ROWS.length), ...ROWS.slice(0, round % ROWS.length)];
        for (const name of order)
          rounds
            .get(name)!
            .push(await measureRow(floors.rows[name], customers, connections, shape.seconds));
      }
      report(rounds, connections, shape.seconds);
    }
  } finally {
    await floors.stop();
  }
}

function cpuPerReply(measured: MeasuredRun): Map<string, number> {
  const replies = measured.latenciesMs.length;
  if (replies === 0) return new Map();
  return new Map([...measured.cpu.byGroup].map(([group, ms]) => [group, (ms * 1000) / replies]));
}

function report(
  rounds: ReadonlyMap<RowName, MeasuredRun[]>,
  connections: number,
  seconds: number,
): void {
  const bare = rounds.get('bare')!;
  const ratioOf = (name: RowName): { median: number; low: number; high: number } => {
    const ratios = rounds.get(name)!.map((m, i) => m.perSecond / bare[i]!.perSecond);
    return { median: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios) };
  };
  const rows: BenchRow[] = [...rounds].map(([name, measured]) => {
    const perReply = measured.map(cpuPerReply);
    const cpu = [...(perReply[0]?.keys() ?? [])]
      .map((group) => `${group} ${Math.round(median(perReply.map((m) => m.get(group) ?? 0)))}`)
      .join(', ');
    const p99 = `p99 ${median(measured.map((m) => m.latency.p99Ms)).toFixed(1)} ms`;
    const ratio = name === 'bare' ? undefined : ratioOf(name);
    return {
      name,
      value: median(measured.map((m) => m.perSecond)),
      unit: 'req/s',
      ...(ratio === undefined
        ? { note: `${p99}; CPU µs/reply: ${cpu}` }
        : {
            ratio: ratio.median,
            baseline: 'bare',
            note: `rounds ${ratio.low.toFixed(2)}–${ratio.high.toFixed(2)}x; ${p99}; CPU µs/reply: ${cpu}`,
          }),
    };
  });
  printTable(
    `bench:http-floor — ${connections} connections, ${seconds} s per row and round, medians of ` +
      `${bare.length} rounds (ratio: median of each round's ratio to its bare route)`,
    rows,
  );
  const goal = (name: RowName, goalRatio: number, what: string) => {
    const { median: ratio, high } = ratioOf(name);
    const rounds = high < goalRatio ? 'in no round' : 'in some rounds';
    console.log(
      `${what}, ${connections} connections: the floor's median ${ratio.toFixed(2)}x, goal ≥ ` +
        `${goalRatio}x ${ratio < goalRatio ? 'missed' : 'reached'}; reached ${rounds}`,
    );
  };
  console.log('');
  goal('contract, durable', DURABLE_RATIO_GOAL, 'durable accepts');
  goal('contract, sold out', SOLD_OUT_RATIO_GOAL, 'sold-out fast path');
}

await main();
