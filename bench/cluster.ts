import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { TokenPool } from '../scripts/client/token-pool.js';
import { allRoundsRows } from './cluster/all-rounds.js';
import { readClusterBenchOptions } from './cluster/options.js';
import { printFirstOrders, printGoals, printProfile } from './cluster/profile.js';
import { printTable } from './cluster/report.js';
import { type StackRun, stackRun } from './cluster/stack-run.js';
import type { BenchStack, StackName } from './cluster/stacks.js';

// `npm run bench:cluster` (issue 18's cost goal): in one run, `npm start`'s single-machine stack
// and the cluster rehearsal (`npm run cluster`: 3 nats-servers R3, 3 engines, 2 gateways, the
// agent and the carrier; each sale's log replicated before the yes), each started as its user
// starts it, one after the other, alternating over the rounds so that drift shows. On each: new
// sales created through the API, each one's first order timed; then bench:http's generator
// (bench/load: the opening second's mix, a new customer and a new token on every request) on the
// first of them, spread over both gateways: durable orders/s, p50/p99 and the CPU of every
// process of the stack per durable order. The rehearsal's rate is a ratio to npm start's in the
// same round.

const STACKS: readonly StackName[] = ['npm start', 'rehearsal'];
const STACKS_REHEARSAL_FIRST: readonly StackName[] = ['rehearsal', 'npm start'];

function mintCustomers(tokens: number): TokenPool {
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  console.log(`minting ${tokens.toLocaleString('en-US')} customers' tokens…`);
  const started = performance.now();
  const customers = new TokenPool(JWT_SECRET_DEVELOPMENT, tokens, `c-${run}-`);
  console.log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return customers;
}

async function main(): Promise<void> {
  const options = readClusterBenchOptions();
  const loadAtStart = loadavg()[0]!;
  const customers = mintCustomers(options.tokens);
  let running: BenchStack | null = null;
  const interrupted = (): void => {
    void (running?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const rows: StackRun[] = [];
  for (let round = 1; round <= options.rounds; round += 1)
    for (const name of options.rehearsalFirst ? STACKS_REHEARSAL_FIRST : STACKS)
      rows.push(
        await stackRun(name, round, customers, options, (stack) => {
          running = stack;
        }),
      );
  const table = [...rows, ...allRoundsRows(rows)];
  printTable(table, options.connections);
  printFirstOrders(rows);
  printProfile(table);
  printGoals(table);
  // Both stacks share this machine's cores with the generator (and, here, with other people's
  // work): the run says how busy the machine was.
  console.log(
    `\nLoad average (1 min) at the start: ${loadAtStart.toFixed(2)}, at the end: ${loadavg()[0]!.toFixed(2)}`,
  );
}

await main();
