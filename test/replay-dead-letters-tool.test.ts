import t from 'tap';
import { EXIT_NOT_RUN, EXIT_USAGE } from '../scripts/cli/command-line.js';
import { freePort } from '../scripts/stack/free-port.js';
import { startNats } from './helpers/nats.js';
import { runTool, STACK_FRAME } from './helpers/tool-run.js';

// `npm run replay-dead-letters` as an operator runs it, when things are not as expected: asking
// for help, a bad command line (usage, exit 64), no NATS (one line, exit 2), and a NATS where no
// shipping agent has created the dead-letter stream yet (nothing dead-lettered: exit 0).
// shipping-outage.test.ts runs it on real dead letters.

t.test('--help prints the usage and exits 0', async (t) => {
  const run = await runTool('replay-dead-letters', ['--help']);
  t.equal(run.exit, 0);
  t.match(run.stdout, /^usage: npm run replay-dead-letters/m);
});

for (const [args, problem] of [
  [['--sale'], /--sale <value>' argument missing/],
  [['--sale', 'a.b'], /--sale takes 1-64 characters/],
  [['--lst'], /Unknown option '--lst'/],
] as const)
  t.test(`replay-dead-letters ${args.join(' ')}: the problem and the usage, exit 64`, async (t) => {
    const run = await runTool('replay-dead-letters', args);
    t.equal(run.exit, EXIT_USAGE, `exit ${EXIT_USAGE}; stderr:\n${run.stderr}`);
    t.match(run.stderr, problem);
    t.match(run.stderr, /^usage: npm run replay-dead-letters/m);
    t.notMatch(run.stderr, STACK_FRAME, 'no stack trace');
  });

t.test('no NATS at NATS_URL: one line saying so, exit 2', async (t) => {
  // A port just found free: nothing listens there.
  const url = `nats://127.0.0.1:${await freePort()}`;
  const run = await runTool('replay-dead-letters', ['--list'], { NATS_URL: url });
  t.equal(run.exit, EXIT_NOT_RUN, `stderr:\n${run.stderr}`);
  t.match(run.stderr, `NATS at ${url} does not answer`);
  t.equal(run.stderr.trim().split('\n').length, 1, 'in one line');
  t.notMatch(run.stderr, STACK_FRAME, 'no stack trace');
});

t.test('no dead-letter stream yet: none waiting, none to put back, exit 0', async (t) => {
  const nats = await startNats(t);
  for (const [args, summary] of [
    [['--list'], /^0 dead letter\(s\) waiting: no ORDERS_DLQ stream/m],
    [[], /^0 dead letter\(s\) put back for delivery: no ORDERS_DLQ stream/m],
  ] as const) {
    const run = await runTool('replay-dead-letters', args, { NATS_URL: nats.url });
    t.equal(run.exit, 0, `replay-dead-letters ${args.join(' ')}; stderr:\n${run.stderr}`);
    t.match(run.stdout, summary);
    t.equal(run.stderr, '');
  }
});
