import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { runEngineChaos } from './lib/engine-chaos.js';
import { NatsServerProcess } from './lib/nats-server.js';

// `npm run chaos:engine [-- --rounds 50 --customers 150]`: SIGKILLs the engine at random moments
// during bursts, on a private nats-server and a temporary WAL, and audits the invariants.

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '50' },
    customers: { type: 'string', default: '150' },
  },
});
const rounds = Number(values.rounds);
const customersPerRound = Number(values.customers);
if (
  !Number.isInteger(rounds) ||
  rounds < 1 ||
  !Number.isInteger(customersPerRound) ||
  customersPerRound < 1
) {
  console.error('usage: chaos-engine [--rounds N] [--customers N]');
  process.exit(64);
}

const dir = await mkdtemp(join(tmpdir(), 'chaos-engine-'));
const nats = await NatsServerProcess.start({ storeDir: join(dir, 'js') });
const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1 });
try {
  const report = await runEngineChaos({
    nc,
    natsUrl: nats.url,
    walDir: join(dir, 'wal'),
    rounds,
    customersPerRound,
    log: (line) => console.log(line),
  });
  console.table([{ ...report, breaches: report.breaches.length }]);
  for (const breach of report.breaches) console.error(`BREACH ${breach}`);
  process.exitCode = report.breaches.length === 0 ? 0 : 1;
} finally {
  await nc.close();
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
}
