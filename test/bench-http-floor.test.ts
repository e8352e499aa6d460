import t from 'tap';
import { runBench } from './helpers/bench-run.js';

// `npm run bench:http-floor` in its shortest form, end to end: every floor answers every request
// with its row's status (the bench throws otherwise, and exits 1), and the table and the verdicts
// are printed.
// Ratios are not asserted (a shared machine mid-suite); docs/benchmarks.md has the real runs.

t.test('bench:http-floor: one short round of every row, table and verdicts', async (t) => {
  const { code, output } = await runBench(t, 'http-floor', [
    ...['--rounds', '1', '--seconds', '1', '--connections', '100', '--tokens', '10000'],
  ]);
  t.equal(code, 0, 'exits 0', { output: output.slice(-4_000) });
  t.match(output, /\| bare +\| +[\d,]+ +\| req\/s \| +\| p99 [\d.]+ ms; CPU µs\/reply: http \d+/);
  for (const row of ['relay, echo', 'relay, durable', 'contract, durable', 'contract, sold out'])
    t.match(
      output,
      new RegExp(`\\| ${row} +\\| +[\\d,]+ +\\| req/s \\| [\\d.]+x \\| vs bare`),
      row,
    );
  t.match(output, /^durable accepts, 100 connections: the floor's median [\d.]+x, goal ≥ 0.5x/m);
  t.match(output, /^sold-out fast path, 100 connections: the floor's median [\d.]+x, goal ≥ 0.9x/m);
});
