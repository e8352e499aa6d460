import t from 'tap';
import { runBench } from './helpers/bench-run.js';

// `npm run bench:cluster` in a tiny form, end to end: npm start's stack and the cluster rehearsal
// each come up as real processes (free ports, temporary data), take new sales and a second of
// load over both gateways, and go; the table has a row for each with its rate, the rehearsal's
// ratio to npm start, p50/p99, the CPU of every process per durable order and the new sales'
// first-order times; the profile names the rehearsal's owner engine and SALE_LOG leader. Figures
// are not asserted: a shared machine in the middle of a test suite says nothing;
// docs/benchmarks.md has the real runs.

const ARGS = [
  '--short',
  ...['--connections', '8', '--warm-up-seconds', '1', '--seconds', '1'],
  ...['--tokens', '4000', '--new-sales', '2'],
];

const NUMBER = '[\\d,.]+';

/** A table row: stack, round, rate, ratio, p50, p99, CPU µs/order, first order p50 / max. */
const row = (stack: string): RegExp =>
  new RegExp(
    `^\\| ${stack} +\\| +1 \\| +${NUMBER} \\| +${NUMBER}x \\| +${NUMBER} \\| +${NUMBER} \\| +\\d[\\d,]* \\| +${NUMBER} / ${NUMBER} \\| \\d[\\d,]* accepted`,
    'm',
  );

t.test('bench:cluster --short: both stacks, one row each, and where their CPU went', async (t) => {
  const { code, output } = await runBench(t, 'cluster', ARGS);
  t.equal(code, 0, 'exits 0', { output: output.slice(-6_000) });
  t.match(output, /server CPU µs\/order \(all processes\)/, 'the CPU column');
  t.match(output, row('npm start'), "npm start's row");
  t.match(output, row('rehearsal'), "the rehearsal's row");
  t.match(
    output,
    /npm start, round 1: \d+ µs = nats-server \d+ µs, engine \d+ µs, 2 gateways \d+ µs .*shipping agent \d+ µs, fake carrier \d+ µs/,
    "npm start's CPU by role",
  );
  t.match(
    output,
    /rehearsal, round 1: \d+ µs = 3 nats-servers \d+ µs \(.*\(SALE_LOG leader\).*\), 3 engines \d+ µs \(.*engine machine-\d \(owner\)/,
    "the rehearsal's CPU by role, its owner engine and SALE_LOG leader named",
  );
  t.match(
    output,
    /rehearsal, round 1: (\d+ ms, ){1}\d+ ms; refused on the way: /,
    'each new sale timed',
  );
  t.match(
    output,
    /^ {2}(met {3}|MISSED) round 1: the rehearsal's durable orders\/s/m,
    'the rate goal',
  );
  t.match(
    output,
    /^ {2}(met {3}|MISSED) npm start: every new sale \(2\)/m,
    'npm start: the 1 s goal',
  );
  t.match(
    output,
    /^ {2}(met {3}|MISSED) rehearsal: every new sale \(2\)/m,
    'rehearsal: the 1 s goal',
  );
  t.match(
    output,
    /Load average \(1 min\) at the start: [\d.]+, at the end: [\d.]+/,
    'the load average',
  );
});
