import t from 'tap';
import { runBench } from './helpers/bench-run.js';

// `npm run bench:http` in a tiny form, end to end: the directly started stack and npm start's own
// stack both come up, every row runs and is printed with its rate (or p99), its ratio to the bare
// route and its server CPU per reply, the burst sells exactly its 100 units (the bench exits 1
// otherwise), and the goals are printed. Figures are not asserted: a shared machine in the
// middle of a test suite says nothing; docs/benchmarks.md has the real runs.

const ARGS = [
  '--short',
  ...['--connections', '20,40', '--tokens', '8000', '--burst-requests', '500'],
  ...['--burst-connections', '40', '--open-loop-connections', '40', '--open-loop-rate', '500'],
];

const row = (name: string, unit: string, ratio: boolean): RegExp =>
  new RegExp(
    `^\\| ${name} +\\| +[\\d,.]+ +\\| ${unit} +\\| ${ratio ? '[\\d.]+x' : ' *'} +\\| +\\d+ +\\|`,
    'm',
  );

t.test('bench:http --short: every row, its ratio and its server CPU per reply', async (t) => {
  const { code, output } = await runBench(t, 'http', ARGS);
  t.equal(code, 0, 'exits 0', { output: output.slice(-6_000) });
  t.match(output, row('bare Fastify route, 20 conns', 'req/s', false));
  t.match(output, row('durable accepts, 40 conns', 'orders/s', true));
  t.match(output, row('sold-out refusals, 40 conns', 'req/s', true));
  t.match(output, row('burst: 500 orders on 100 units, 40 conns', 'replies/s', true));
  t.match(output, /sold 100 of 100, 100 orders acknowledged/);
  t.match(
    output,
    row('\\(secondary\\) durable accepts, 64 repeating customers, 20 conns', 'orders/s', true),
  );
  t.match(output, row('durable accepts, 40 conns at 500/s, open loop', 'ms p99', false));
  t.match(
    output,
    row('durable accepts through npm start \\(default settings\\), 20 conns', 'orders/s', true),
  );
  t.match(
    output,
    /npm start \(default settings\), 20 conns: server \d+ µs \(loaded gateway \d+ µs, other gateways \d+ µs, engine \d+ µs, nats-server \d+ µs/,
  );
  t.match(output, /^ {2}(met {3}|MISSED) durable accepts through npm start/m);
  t.notMatch(output, /BROKEN/);
});
