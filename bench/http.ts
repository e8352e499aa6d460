import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { TokenPool } from '../scripts/client/token-pool.js';
import { directRows, type Phase, type Pools, salesOf } from './http/direct-rows.js';
import { type DirectStack, startBareRoute, startDirectStack } from './http/direct-stack.js';
import { npmStartRows } from './http/npm-start-rows.js';
import { type NpmStartStack, startNpmStartStack } from './http/npm-start-stack.js';
import { readHttpBenchOptions } from './http/options.js';
import { printReport } from './http/report.js';

// `npm run bench:http`: orders through the whole HTTP path — HTTP → gateway → NATS → engine → WAL
// fsync → back — under the opening second's mix: every request from a customer the sale has never
// seen, with a signed token of its own that the gateway has never verified. Every row is loaded
// by the same generator of our own (bench/load: keep-alive connections, prebuilt request bytes,
// tokens minted before the clock), and compared with a bare Fastify route measured in the same
// run, beside its server CPU per reply. Rows: see bench/http/direct-rows.ts, and one against
// `npm start`'s own stack in its default configuration (bench/http/npm-start-rows.ts).
// Exits 1 if an invariant broke (the burst sold other than its stock).

/**
 * One secret for both stacks, npm start's default, so one pool of tokens serves every row: the
 * directly started gateway is given it too (a secret is no tuning).
 */
const JWT_SECRET = JWT_SECRET_DEVELOPMENT;
/** The secondary row's customers, who order again and again: the figure the old headline gave. */
const REPEATING_CUSTOMERS = 64;

function mintPools(tokens: number): Pools {
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  console.log(`minting ${tokens.toLocaleString('en-US')} customers' tokens…`);
  const started = performance.now();
  const customers = new TokenPool(JWT_SECRET, tokens, `c-${run}-`);
  console.log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { customers, repeating: new TokenPool(JWT_SECRET, REPEATING_CUSTOMERS, `r-${run}-`) };
}

async function main(): Promise<void> {
  const options = readHttpBenchOptions();
  const loadAtStart = loadavg()[0]!;
  const pools = mintPools(options.tokens);
  const bare = await startBareRoute();
  const phases: Phase[] = [];
  let direct: DirectStack | null = null;
  let npmStart: NpmStartStack | null = null;
  const stopAll = async (): Promise<void> => {
    bare.stop();
    await direct?.stop();
    await npmStart?.stop();
  };
  const interrupted = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    console.log('the directly started stack: nats-server, engine, one gateway…');
    direct = await startDirectStack(JWT_SECRET, salesOf(options));
    phases.push(await directRows(direct, bare, pools, options, JWT_SECRET));
    await direct.stop();
    direct = null;
    if (options.npmStart) {
      console.log("npm start's own stack (node dist/scripts/dev-stack.js, default settings)…");
      npmStart = await startNpmStartStack();
      phases.push(await npmStartRows(npmStart, bare, pools, options));
    }
  } finally {
    await stopAll();
  }
  report(phases, loadAtStart);
}

function report(phases: readonly Phase[], loadAtStart: number): void {
  const rows = phases.flatMap((phase) => phase.rows);
  printReport(
    'bench:http — the opening second: a new customer and a new token on every request',
    rows,
    phases.flatMap((phase) => phase.goals),
  );
  // Everything shares this machine's cores with the generator: anything else running skews the
  // figures, so the run says how busy the machine was.
  console.log(
    `\nLoad average (1 min) at the start: ${loadAtStart.toFixed(2)}, at the end: ${loadavg()[0]!.toFixed(2)}`,
  );
  const problems = phases.flatMap((phase) => phase.problems);
  for (const problem of problems) console.log(`BROKEN ${problem}`);
  if (problems.length > 0) process.exitCode = 1;
}

await main();
