import t from 'tap';
import { EVENT_LOOP_DELAY_MS_MAX_TESTS } from './helpers/stack.js';
import { runTool } from './helpers/tool-run.js';

// The burst tool as a user runs it: compiled, as a child process, starting its own stack
// (nats-server, an engine, two gateways), then auditing what it sold.

/**
 * Its gateways inherit the environment: they don't shed on event-loop lag, as the other tests'
 * gateways don't (helpers/stack.ts says why), so a stall of the shared CI machine can't refuse the
 * burst it is to audit.
 */
const runBurst = (args: readonly string[]) =>
  runTool('burst', args, { EVENT_LOOP_DELAY_MS_MAX: String(EVENT_LOOP_DELAY_MS_MAX_TESTS) });

t.test('npm run burst sells exactly the stock and passes its audit', async (t) => {
  const run = await runBurst([
    ...['--customers', '200', '--requests', '600', '--concurrency', '100', '--stock', '50'],
  ]);
  t.equal(run.exit, 0, `exit code 0; stdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-4000)}`);
  t.match(run.stdout, /^\| units sold\s+\| 50 of 50\s+\|/m, 'the summary reports 50 of 50 sold');
  t.match(run.stdout, /^\| requests\s+\| 600\s+\|/m, 'and all 600 requests');
  t.match(run.stdout, /^AUDIT passed/m);
  t.notMatch(run.stdout, /BROKEN|UNCHECKED/);
});
