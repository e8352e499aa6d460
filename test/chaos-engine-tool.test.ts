import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { EXIT_ON_SIGNAL, EXIT_USAGE } from '../scripts/cli/command-line.js';
import { PROJECT_ROOT } from '../scripts/stack/service-process.js';
import { tempDir } from './helpers/nats.js';
import { runTool, STACK_FRAME } from './helpers/tool-run.js';

// `npm run chaos:engine` as a user runs it: --help, a bad command line (usage, exit 64), and a
// SIGTERM mid-run, after which no engine or nats-server of the run is left and its temporary
// directory is gone. engine-crash.test.ts runs its rounds.

t.test('--help prints the usage and exits 0', async (t) => {
  const run = await runTool('chaos-engine', ['--help']);
  t.equal(run.exit, 0);
  t.match(run.stdout, /^usage: npm run chaos:engine/m);
});

for (const [args, problem] of [
  [['--rounds'], /--rounds <value>' argument missing/],
  [['--rounds', '0'], /--rounds takes a whole number ≥ 1, not "0"/],
  [['--customers', 'many'], /--customers takes a whole number ≥ 1/],
] as const)
  t.test(`chaos-engine ${args.join(' ')}: the problem and the usage, exit 64`, async (t) => {
    const run = await runTool('chaos-engine', args);
    t.equal(run.exit, EXIT_USAGE, `exit ${EXIT_USAGE}; stderr:\n${run.stderr}`);
    t.match(run.stderr, problem);
    t.match(run.stderr, /^usage: npm run chaos:engine/m);
    t.notMatch(run.stderr, STACK_FRAME, 'no stack trace');
  });

/** Pids of the processes (ours or not) whose command line or environment names `path`. */
async function processesMentioning(path: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const found: number[] = [];
  for (const pid of pids) {
    for (const file of ['cmdline', 'environ']) {
      // A process may end while we look, or not be ours to read: neither names the path.
      const text = await readFile(join('/proc', pid, file), 'latin1').catch(() => '');
      if (text.includes(path)) {
        found.push(Number(pid));
        break;
      }
    }
  }
  return found;
}

t.test('SIGTERM mid-run stops the engine and nats-server and removes the temp dir', async (t) => {
  // The run's own TMPDIR: whatever the tool leaves behind shows there, apart from other runs.
  const tmp = await tempDir(t, 'chaos-engine-tmp');
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'dist/scripts/chaos-engine.js'), '--rounds', '1000', '--customers', '20'],
    { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // The first round's line: the engine and nats-server are running, the WAL is written.
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) if (/^round 1\//.test(line)) break;
  t.ok((await processesMentioning(tmp)).length >= 2, 'mid-run, nats-server and an engine run');

  child.kill('SIGTERM');
  const [code] = await exited;
  t.equal(code, EXIT_ON_SIGNAL.SIGTERM, `exit 143; stderr:\n${stderr}`);
  t.match(stderr, /SIGTERM: stopping/);
  t.notMatch(stderr, STACK_FRAME, 'no stack trace');
  t.same(await readdir(tmp), [], 'its temporary directory is removed');
  t.same(await processesMentioning(tmp), [], 'no process of the run is left');
});
