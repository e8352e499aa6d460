import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { NatsServerProcess } from '../scripts/lib/nats-server.js';
import { PROJECT_ROOT } from '../scripts/lib/service-process.js';
import { TokenPool } from '../scripts/lib/token-pool.js';
import {
  cpuBetween,
  LOAD_GENERATOR,
  type ProcessGroup,
  processGroup,
  readCpu,
} from './compare/cpu-usage.js';
import { ordersOfEveryCustomer } from './order-requests.js';
import { type BenchRow, printTable } from './table.js';

// `npm run bench:http-floor`: how close to bench:http's goals any implementation of DESIGN.md's
// shape can come on this machine. Each row is a floor, something that does less than our
// gateway and engine must, measured against the same bare Fastify route as bench:http, by the same
// generator (autocannon, prebuilt requests), in rounds that alternate the rows so that the
// machine's drift hits all of them alike:
//   relay, echo           — Fastify → NATS request-reply (orders batched per turn) → an answer;
//   relay, durable        — the same, the responder committing each batch to a file with
//                           fdatasync before it answers and publishing one JetStream message per
//                           order afterwards (I3, I4);
//   contract, durable     — the same behind what issue 5 asks of every request: JWT, schema,
//                           per-customer rate limit, Prometheus metrics, request id, pino;
//   contract, sold out    — a 409 SOLD_OUT from the route after that same work: the fast path.
// If a floor stays under a goal, no implementation of the contract meets it on this machine.
// The rows' processes are bench/floor/*.

const DURABLE_RATIO_GOAL = 0.5;
const SOLD_OUT_RATIO_GOAL = 0.9;
const WARMUP_S = 2;
const CUSTOMERS = 64;
const JWT_SECRET = 'bench-floor-secret-0123456789abcdef';
const USAGE = 'npm run bench:http-floor -- [--rounds N] [--connections N] [--seconds S]';

type RowName =
  | 'bare'
  | 'relay, echo'
  | 'relay, durable'
  | 'contract, durable'
  | 'contract, sold out';

interface Round {
  readonly perSecond: number;
  /** Process group → CPU µs per reply. */
  readonly cpuUsPerReply: ReadonlyMap<string, number>;
}

function options(): { rounds: number; connections: number; seconds: number } | null {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '4' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;
  const numbers = [values.rounds, values.connections, values.seconds].map(Number);
  if (!numbers.every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error(USAGE);
  const [rounds, connections, seconds] = numbers as [number, number, number];
  return { rounds, connections, seconds };
}

/** Forks one of bench/'s processes and waits for its first IPC message (ready, or its port). */
async function start(
  file: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<{ process: ChildProcess; message: unknown }> {
  const started = fork(join(PROJECT_ROOT, 'dist/bench', file), args, { env });
  const [message] = await once(started, 'message');
  return { process: started, message };
}

async function server(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; process: ChildProcess }> {
  const { process: started, message } = await start(file, env);
  return { url: `http://127.0.0.1:${(message as { port: number }).port}`, process: started };
}

const load = (url: string, connections: number, seconds: number, requests: autocannon.Request[]) =>
  new Promise<autocannon.Result>((resolve, reject) =>
    autocannon({ url, connections, duration: seconds, requests }, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );

async function measure(
  url: string,
  requests: autocannon.Request[],
  expectedStatus: number,
  groups: readonly ProcessGroup[],
  shape: { connections: number; seconds: number },
): Promise<Round> {
  await load(url, shape.connections, WARMUP_S, requests);
  const before = readCpu(groups);
  const result = await load(url, shape.connections, shape.seconds, requests);
  const spent = cpuBetween(before, readCpu(groups));
  const replies = result.requests.total;
  const wrong = expectedStatus === 201 ? result.non2xx : result['2xx'];
  if (wrong > 0 || result.errors > 0)
    throw new Error(
      `${url}: ${wrong} replies other than ${expectedStatus}, ${result.errors} errors`,
    );
  const cpuUsPerReply = new Map(
    [...spent.byGroup].map(([group, ms]) => [group, (ms * 1000) / replies] as const),
  );
  return { perSecond: replies / shape.seconds, cpuUsPerReply };
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
  try {
    const bare = await server('bare-http-server.js', env);
    const relay = await server('floor/relay-server.js', env);
    const contract = await server('floor/relay-server.js', { ...env, FLOOR_CONTRACT: '1' });
    children.push(bare.process, relay.process, contract.process);
    const tokens = new TokenPool(JWT_SECRET, CUSTOMERS, 'floor-c');
    const open = ordersOfEveryCustomer(tokens, 'open');
    const soldOut = ordersOfEveryCustomer(tokens, 'sold-out');
    const order: RowName[] = [
      'bare',
      'relay, echo',
      'relay, durable',
      'contract, durable',
      'contract, sold out',
    ];
    const rounds = new Map<RowName, Round[]>(order.map((name) => [name, []]));
    const record = (name: RowName, round: Round) => rounds.get(name)!.push(round);
    const groupsOf = (http: ChildProcess, responder?: ChildProcess): ProcessGroup[] => [
      processGroup('http', http),
      ...(responder === undefined
        ? []
        : [processGroup('responder', responder), processGroup('nats-server', nats)]),
      LOAD_GENERATOR,
    ];

    for (let round = 1; round <= shape.rounds; round += 1) {
      console.log(`round ${round} of ${shape.rounds}…`);
      record('bare', await measure(bare.url, open, 201, groupsOf(bare.process), shape));
      record(
        'contract, sold out',
        await measure(contract.url, soldOut, 409, groupsOf(contract.process), shape),
      );
      for (const mode of ['echo', 'durable'] as const) {
        const responder = (await start('floor/journal-responder.js', env, [mode])).process;
        try {
          const relayRow = mode === 'echo' ? 'relay, echo' : 'relay, durable';
          record(
            relayRow,
            await measure(relay.url, open, 201, groupsOf(relay.process, responder), shape),
          );
          if (mode === 'durable')
            record(
              'contract, durable',
              await measure(contract.url, open, 201, groupsOf(contract.process, responder), shape),
            );
        } finally {
          responder.kill('SIGTERM');
          await once(responder, 'exit');
        }
      }
    }
    report(rounds, shape);
  } finally {
    for (const started of children) started.kill('SIGTERM');
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function report(
  rounds: ReadonlyMap<RowName, Round[]>,
  shape: { connections: number; seconds: number },
): void {
  const bare = rounds.get('bare')!;
  const ratioOf = (name: RowName): { median: number; low: number; high: number } => {
    const ratios = rounds.get(name)!.map((round, i) => round.perSecond / bare[i]!.perSecond);
    return { median: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios) };
  };
  const rows: BenchRow[] = [...rounds].map(([name, measured]) => {
    const groups = [...measured[0]!.cpuUsPerReply.keys()];
    const cpu = groups
      .map(
        (group) =>
          `${group} ${Math.round(median(measured.map((r) => r.cpuUsPerReply.get(group)!)))}`,
      )
      .join(', ');
    const ratio = name === 'bare' ? undefined : ratioOf(name);
    return {
      name,
      value: median(measured.map((round) => round.perSecond)),
      unit: 'req/s',
      ...(ratio === undefined
        ? { note: `CPU µs/reply: ${cpu}` }
        : {
            ratio: ratio.median,
            baseline: 'bare',
            note: `rounds ${ratio.low.toFixed(2)}–${ratio.high.toFixed(2)}x; CPU µs/reply: ${cpu}`,
          }),
    };
  });
  printTable(
    `bench:http-floor — ${shape.connections} connections, ${shape.seconds} s per row and round, ` +
      `medians of ${bare.length} rounds (ratio: median of each round's ratio to its bare route)`,
    rows,
  );
  const goal = (name: RowName, goalRatio: number, what: string) => {
    const { median: ratio, high } = ratioOf(name);
    const verdict =
      high < goalRatio
        ? 'under the goal in every round'
        : ratio < goalRatio
          ? 'under the goal in most rounds'
          : 'reaches the goal';
    console.log(
      `${what}: the floor's median ${ratio.toFixed(2)}x vs goal ≥ ${goalRatio}x — ${verdict}`,
    );
  };
  console.log('');
  goal('contract, durable', DURABLE_RATIO_GOAL, 'durable accepts');
  goal('contract, sold out', SOLD_OUT_RATIO_GOAL, 'sold-out fast path');
}

await main();
