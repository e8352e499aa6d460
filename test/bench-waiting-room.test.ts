import t from 'tap';
import { runBench } from './helpers/bench-run.js';

// `npm run bench:waiting-room` in a tiny form, end to end: its own stack comes up, every row runs
// and is printed with its value, its ratio to its baseline (and the server CPU where it applies),
// and every audit row passes (the draw re-run from the published seed, ticket order, the rate,
// late joiners first come first served, everyone admitted, default-cost solutions accepted, the
// sockets kept open); the bench exits 1 otherwise. Figures are not asserted: a shared machine
// in the middle of a test suite says nothing; docs/benchmarks.md has the real run.

const ARGS = [
  ...['--customers', '120', '--admit-per-second', '60', '--solves', '3'],
  ...['--sockets', '100', '--waiting', '50,500', '--seconds', '1'],
];

const NUMBER = '[\\d,.]+';
const row = (name: string, unit: string, cpu: boolean): RegExp =>
  new RegExp(
    `^\\| ${name}[^|]* +\\| +${NUMBER} +\\| ${unit} +\\| +${NUMBER}x +\\| +${cpu ? '\\d+' : ''} +\\| vs `,
    'm',
  );

t.test('bench:waiting-room, tiny: every row with its ratio, every audit row passes', async (t) => {
  const { code, output } = await runBench(t, 'waiting-room', ARGS);
  t.equal(code, 0, 'exits 0', { output: output.slice(-6_000) });
  t.match(output, row('\\(b\\) solve at the default POW_COST, median of 3', 'ms', false));
  t.match(output, row('\\(b\\) solve at the default POW_COST, p90 of 3', 'ms', false));
  t.match(output, row('\\(a\\) join the lobby: challenge, solve, join × 120', 'joins/s', true));
  t.match(output, row('\\(c\\) admission rate, mean over', 'admitted/s', false));
  t.match(output, row('\\(c\\) most admitted in any sliding second', 'admitted', false));
  t.match(
    output,
    row('\\(d\\) 100 sockets follow the queue, \\d+ waiting', 'gateway CPU µs/s', true),
  );
  t.match(output, /\| \(d\) 100 sockets follow the queue, (4\d\d|500) waiting/, 'the queue grew');
  for (const check of [
    'published draw',
    'ticket order',
    'admitPerSecond per second',
    'first come first served',
    'every customer who joined is admitted',
    'default cost are accepted',
    'live sockets stay open',
  ])
    t.match(
      output,
      new RegExp(`^\\| [^|]*${check}[^|]* +\\| +[1-9][\\d,]* +\\| 0 +\\|$`, 'm'),
      check,
    );
  t.match(output, /^AUDIT passed$/m);
  t.match(output, /^Load average \(1 min\) at the start: [\d.]+, at the end: [\d.]+$/m);
});
