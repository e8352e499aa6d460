import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type autocannon from 'autocannon';
import { NatsServerProcess } from '../scripts/lib/nats-server.js';
import { TokenPool } from '../scripts/lib/token-pool.js';
import { forkBenchProcess, nextMessage, startBenchServer } from './bench-process.js';
import { type Measurement, measure } from './closed-loop-window.js';
import { LOAD_GENERATOR, type ProcessGroup, processGroup } from './compare/cpu-usage.js';
import { ordersOfEveryCustomer } from './order-requests.js';
import { type BenchRow, printTable } from './table.js';

// `npm run bench:http-floor`: how close to bench:http's ratio goals an implementation of
// DESIGN.md's shape can come on this machine, with this stack (Fastify, nats.js, fast-jwt,
// prom-client, @fastify/rate-limit) and this process shape (one HTTP process, NATS, one engine
// process). Each row is a floor: it does less than our gateway and engine must. It is measured as
// bench:http measures (autocannon, prebuilt requests, a window on established connections, the
// same bare Fastify route as baseline), in rounds whose row order rotates, so that the machine's
// drift falls on every row alike:
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
const CUSTOMERS = 64;
/** How long a row's JetStream backlog may take to drain before the bench gives up. */
const DRAIN_WAIT_MS_MAX = 60_000;
const JWT_SECRET = 'bench-floor-secret-0123456789abcdef';
const USAGE = 'npm run bench:http-floor -- [--rounds 3] [--connections 100,1000] [--seconds 4]';

const ROWS = [
  'bare',
  'relay, echo',
  'relay, durable',
  'contract, durable',
  'contract, sold out',
] as const;
type RowName = (typeof ROWS)[number];

interface Options {
  readonly rounds: number;
  readonly connections: readonly number[];
  readonly seconds: number;
}

function options(): Options | null {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '100,1000' },
      seconds: { type: 'string', default: '4' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;
  const positive = (text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`not a positive integer: ${text}\n${USAGE}`);
    return n;
  };
  return {
    rounds: positive(values.rounds),
    connections: values.connections.split(',').map(positive),
    seconds: positive(values.seconds),
  };
}

interface Row {
  readonly url: string;
  readonly requests: autocannon.Request[];
  readonly status: number;
  readonly groups: readonly ProcessGroup[];
  /** The durable responder, whose JetStream backlog must drain before the next row. */
  readonly responder?: ChildProcess;
}

/**
 * What autocannon's opening storm of connections leaves at 1,000 of them, for the bare route as
 * much as any (bench:http reports the same): counted, outside the measured window.
 */
const WARM_UP_OUTCOMES: ReadonlySet<string> = new Set([
  'connections unanswered in warm-up',
  'errors (whole run)',
  'timeouts (whole run)',
]);

async function drained(responder: ChildProcess | undefined): Promise<void> {
  if (responder === undefined) return;
  responder.send('drain');
  const reply = await nextMessage(responder, 'the durable responder', DRAIN_WAIT_MS_MAX);
  if (reply !== 'drained') throw new Error(`the durable responder answered ${String(reply)}`);
}

/** Measures a row; throws unless every reply had the row's status (a floor that fails is none). */
async function measureRow(row: Row, connections: number, seconds: number): Promise<Measurement> {
  const measured = await measure(row.url, row.requests, connections, row.groups, seconds);
  await drained(row.responder);
  const other = Object.entries(measured.outcomes).filter(
    ([outcome]) => outcome !== String(row.status) && !WARM_UP_OUTCOMES.has(outcome),
  );
  if (other.length > 0)
    throw new Error(`${row.url}: replies other than ${row.status}: ${JSON.stringify(other)}`);
  return measured;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  const shape = options();
  if (shape === null) return console.log(USAGE);
  const dir = await mkdtemp(join(tmpdir(), 'bench-floor-'));
  const nats = await NatsServerProcess.start({ storeDir: join(dir, 'nats') });
  const env = { ...process.env, NATS_URL: nats.url, FLOOR_DIR: dir, FLOOR_JWT_SECRET: JWT_SECRET };
  const children: ChildProcess[] = [];
  async function started<T extends { child: ChildProcess }>(starting: Promise<T>): Promise<T> {
    const running = await starting;
    children.push(running.child);
    return running;
  }
  const responder = async (mode: 'echo' | 'durable') =>
    (await started(forkBenchProcess('floor/journal-responder.js', { env, args: [mode] }))).child;
  const server = (file: string, extra: NodeJS.ProcessEnv = {}) =>
    started(startBenchServer(file, { ...env, ...extra }));
  try {
    const echo = await responder('echo');
    const durable = await responder('durable');
    const bare = await server('bare-http-server.js');
    const relayEcho = await server('floor/relay-server.js', { FLOOR_MODE: 'echo' });
    const relayDurable = await server('floor/relay-server.js', { FLOOR_MODE: 'durable' });
    const contract = await server('floor/relay-server.js', {
      FLOOR_MODE: 'durable',
      FLOOR_CONTRACT: '1',
    });
    const tokens = new TokenPool(JWT_SECRET, CUSTOMERS, 'floor-c');
    const open = ordersOfEveryCustomer(tokens, 'open');
    const soldOut = ordersOfEveryCustomer(tokens, 'sold-out');
    const alone = (http: ChildProcess): ProcessGroup[] => [
      processGroup('http', http),
      LOAD_GENERATOR,
    ];
    const relayed = (http: ChildProcess, to: ChildProcess): ProcessGroup[] => [
      processGroup('http', http),
      processGroup('responder', to),
      processGroup('nats-server', nats),
      LOAD_GENERATOR,
    ];
    const rows: Record<RowName, Row> = {
      bare: { url: bare.url, requests: open, status: 201, groups: alone(bare.child) },
      'relay, echo': {
        url: relayEcho.url,
        requests: open,
        status: 201,
        groups: relayed(relayEcho.child, echo),
      },
      'relay, durable': {
        url: relayDurable.url,
        requests: open,
        status: 201,
        groups: relayed(relayDurable.child, durable),
        responder: durable,
      },
      'contract, durable': {
        url: contract.url,
        requests: open,
        status: 201,
        groups: relayed(contract.child, durable),
        responder: durable,
      },
      'contract, sold out': {
        url: contract.url,
        requests: soldOut,
        status: 409,
        groups: alone(contract.child),
      },
    };
    for (const connections of shape.connections) {
      const rounds = new Map<RowName, Measurement[]>(ROWS.map((name) => [name, []]));
      for (let round = 0; round < shape.rounds; round += 1) {
        console.log(`${connections} connections, round ${round + 1} of ${shape.rounds}…`);
        const order = [...ROWS.slice(round % ROWS.length), ...ROWS.slice(0, round % ROWS.length)];
        for (const name of order)
          rounds.get(name)!.push(await measureRow(rows[name], connections, shape.seconds));
      }
      report(rounds, connections, shape.seconds);
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function cpuPerReply(measured: Measurement): Map<string, number> {
  const { cpu } = measured;
  if (cpu === undefined || cpu.replies === 0) return new Map();
  return new Map([...cpu.spent.byGroup].map(([group, ms]) => [group, (ms * 1000) / cpu.replies]));
}

function report(
  rounds: ReadonlyMap<RowName, Measurement[]>,
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
    const p99 = `p99 ${median(measured.map((m) => m.p99Ms)).toFixed(1)} ms`;
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
