import { join } from 'node:path';
import t from 'tap';
import { runEngineChaos } from '../scripts/chaos/engine-run.js';
import { natsClient, startNats, tempDir } from './helpers/nats.js';

// I3 + I1 + I2 + I4 through crashes: the engine is SIGKILLed at a random moment in each of ten
// bursts and restarted on the same WAL (`npm run chaos:engine` runs fifty). After each restart the
// recovered sale is audited against the orders it holds and then takes a second burst, so a
// recovery that under-counted would oversell (chaos-engine-audit.test.ts: the audit sees it).

t.test('SIGKILL during bursts loses no acknowledged order and invents none', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const report = await runEngineChaos({
    nc,
    natsUrl: nats.url,
    walDir: join(await tempDir(t, 'wal'), 'wal'),
    rounds: 10,
    customersPerRound: 120,
    log: (line) => t.comment(line),
  });
  t.same(report.breaches, [], 'no invariant was breached');
  t.ok(
    report.acknowledgedBeforeKill > 0,
    `engines about to be killed acknowledged orders (${report.acknowledgedBeforeKill})`,
  );
  t.ok(
    report.acknowledgedAfterRecovery > 0,
    `recovered sales took new orders (${report.acknowledgedAfterRecovery})`,
  );
  t.ok(report.orders >= report.acknowledged, 'every acknowledged order is held');
  t.equal(report.rounds, 10);
});
