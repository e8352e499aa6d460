import { execFile } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../scripts/lib/service-process.js';
import { EVENT_LOOP_DELAY_MS_MAX_TESTS } from './helpers/stack.js';

// The burst tool as a user runs it: compiled, as a child process, starting its own stack
// (nats-server, an engine, two gateways), then auditing what it sold.

const RUN_TIMEOUT_MS = 120_000;
const OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

interface Run {
  readonly exit: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runBurst(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_ROOT, 'dist/scripts/burst.js'), ...args],
      // Its gateways inherit the environment: they don't shed on event-loop lag, as the other
      // tests' gateways don't (helpers/stack.ts says why), so a stall of the shared CI machine
      // can't refuse the burst it is to audit.
      {
        timeout: RUN_TIMEOUT_MS,
        maxBuffer: OUTPUT_BYTES_MAX,
        env: { ...process.env, EVENT_LOOP_DELAY_MS_MAX: String(EVENT_LOOP_DELAY_MS_MAX_TESTS) },
      },
      (error, stdout, stderr) => {
        const exit =
          error === null ? 0 : typeof error.code === 'number' ? error.code : error.signal;
        resolve({ exit: exit ?? null, stdout, stderr });
      },
    );
  });
}

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
