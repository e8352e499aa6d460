import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type EngineChaosReport, runEngineChaos } from './chaos/engine-run.js';
import {
  EXIT_NOT_RUN,
  EXIT_ON_SIGNAL,
  oneLine,
  readCommandLine,
  wholeNumber,
} from './cli/command-line.js';
import { formatCount, formatTable } from './cli/text-table.js';
import { NatsServerProcess } from './stack/nats-server.js';

// `npm run chaos:engine [-- --rounds 50 --customers 150]`: SIGKILLs the engine at random moments
// during bursts, on a private nats-server and a temporary WAL, and audits the invariants.
// Exit 0 when every round held them, 1 on a breach, 2 when the run could not happen, 64 on a bad
// command line, 130/143 on Ctrl-C/SIGTERM (after stopping the engine and nats-server and removing
// the temporary directory).

const ROUNDS_DEFAULT = 50;
const CUSTOMERS_DEFAULT = 150;
const EXIT_BREACH = 1;

const USAGE = `usage: npm run chaos:engine -- [options]
  --rounds N      bursts, each with a SIGKILL of the engine and a restart (default ${ROUNDS_DEFAULT})
  --customers N   customers per burst, each ordering 1-3 times (default ${CUSTOMERS_DEFAULT})`;

const settings = readCommandLine(
  USAGE,
  { rounds: { type: 'string' }, customers: { type: 'string' } },
  (values) => ({
    rounds: wholeNumber('rounds', values.rounds, 1, ROUNDS_DEFAULT),
    customersPerRound: wholeNumber('customers', values.customers, 1, CUSTOMERS_DEFAULT),
  }),
);

function printReport(report: EngineChaosReport): number {
  const figures = Object.entries({ ...report, breaches: report.breaches.length });
  console.log(
    formatTable(
      ['engine chaos', 'value'],
      figures.map(([figure, n]) => [figure, formatCount(n)]),
      ['left', 'right'],
    ),
  );
  for (const breach of report.breaches) console.error(`BREACH ${breach}`);
  return report.breaches.length === 0 ? 0 : EXIT_BREACH;
}

/** Ctrl-C or a SIGTERM (a CI timeout) aborts the run; `main` then stops what it started. */
function abortOnSignals(): { signal: AbortSignal; exitCode: () => number } {
  const stopping = new AbortController();
  let exitCode: number = EXIT_ON_SIGNAL.SIGINT;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      console.error(`${signal}: stopping the engine and nats-server`);
      exitCode = EXIT_ON_SIGNAL[signal];
      stopping.abort();
    });
  return { signal: stopping.signal, exitCode: () => exitCode };
}

async function main(): Promise<number> {
  const interrupt = abortOnSignals();
  const dir = await mkdtemp(join(tmpdir(), 'chaos-engine-'));
  let nats: NatsServerProcess | null = null;
  let nc: NatsConnection | null = null;
  try {
    nats = await NatsServerProcess.start({ storeDir: join(dir, 'js') });
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1 });
    const report = await runEngineChaos({
      nc,
      natsUrl: nats.url,
      walDir: join(dir, 'wal'),
      ...settings,
      log: (line) => console.log(line),
      signal: interrupt.signal,
    });
    return printReport(report);
  } catch (error) {
    if (interrupt.signal.aborted) return interrupt.exitCode();
    console.error(`chaos-engine could not run: ${oneLine(error)}`);
    return EXIT_NOT_RUN;
  } finally {
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// process.exit, not exitCode: after an abort, requests of the interrupted round may still be
// pending on timers, and they must not keep the process alive.
process.exit(await main());
