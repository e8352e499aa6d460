import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/stack/free-port.js';
import { PROJECT_ROOT } from '../../scripts/stack/service-process.js';
import { type Teardown, tempDir } from './nats.js';
import {
  killMarked,
  MARK_VARIABLE,
  markedProcesses,
  newMark,
  survivors,
  survivorsAfter,
} from './process-mark.js';

export { OUTLIVE_MS_MAX } from './process-mark.js';

// `npm start` (dist/scripts/dev-stack.js) as a real process on private ports, with its own
// nats-server, run directly or under a real npm (npm → sh -c → node, as `npm start` runs it).
// Its children run detached, so nothing else would stop them: each run is marked
// (process-mark.ts) to find those left.

export const DEV_STACK = join(PROJECT_ROOT, 'dist/scripts/dev-stack.js');
/** The last line `npm start` prints once everything runs. */
export const READY_LINE = /Ctrl-C stops the stack/;

export interface DevStack {
  /** What was spawned: node running the dev stack, or npm. */
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves once the output matches; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Once it has exited and its output is complete. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Processes started by this run that are still alive (zombies aside), with command lines. */
  survivors(): string[];
  /** The pid of the dev stack's node process (the child itself unless under npm). */
  devStackPid(): number;
  /** Polls until no process of this run is left, for at most `ms`; answers the survivors. */
  survivorsAfter(ms: number): Promise<string[]>;
}

/** Private ports and directories: nothing shared with `npm start` or the machine's NATS. */
export async function privateEnv(t: Teardown): Promise<Record<string, string>> {
  const dir = await tempDir(t, 'dev-stack');
  return {
    NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    WAL_DIR: join(dir, 'wal'),
    PORT: String(await freePort()),
    ENGINE_METRICS_PORT: '0',
    CARRIER_PORT: '0',
    AGENT_METRICS_PORT: '0',
    ENGINE_SALES: 'demo',
  };
}

export interface RunOptions {
  /** Under a real `npm start` whose script runs the dev stack as the project's does. */
  readonly underNpm?: boolean;
  /** Another stack script run the same way (the cluster rehearsal); the dev stack by default. */
  readonly script?: string;
}

/** A package whose `npm start` runs the dev stack behind a shell, as the project's does. */
async function npmPackage(t: Teardown, script: string): Promise<string> {
  const dir = await tempDir(t, 'dev-stack-npm');
  const scripts = { start: `true && node ${script}` };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', private: true, scripts }));
  return dir;
}

export async function runDevStack(
  t: Teardown,
  env: Record<string, string>,
  options: RunOptions = {},
): Promise<DevStack> {
  const mark = newMark();
  const script = options.script ?? DEV_STACK;
  const { LEASE_TTL_MS: _, LOG_LEVEL: __, ...inherited } = process.env;
  const fullEnv = { ...inherited, ...env, [MARK_VARIABLE]: mark };
  const child = options.underNpm
    ? spawn('npm', ['start', '--silent'], {
        cwd: await npmPackage(t, script),
        env: { ...fullEnv, npm_config_update_notifier: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
        // A process group of its own, as a terminal gives `npm start`: the test may kill it all.
        detached: true,
      })
    : spawn(process.execPath, [script], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  // Should a test fail half-way, nothing of it outlives the test.
  t.teardown(() => {
    child.kill('SIGKILL');
    killMarked(mark);
  });
  return watchDevStack(child, mark, script);
}

function watchDevStack(child: ChildProcess, mark: string, script: string): DevStack {
  let output = '';
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const listener of listeners) listener();
    });
  const closed = once(child, 'close').then(([code, signal]) => ({ code, signal }));
  const waitFor = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(output)) return;
        listeners.delete(check);
        resolve(output);
      };
      listeners.add(check);
      check();
      void closed.then(() => {
        if (!listeners.delete(check)) return;
        reject(new Error(`dev-stack exited before printing ${pattern}:\n${output}`));
      });
    });
  const devStackPid = () => {
    const found = markedProcesses(mark).find(({ command }) => command.includes(script));
    if (found === undefined) throw new Error('no dev stack process runs');
    return found.pid;
  };
  return {
    child,
    output: () => output,
    waitFor,
    closed,
    survivors: () => survivors(mark),
    devStackPid,
    survivorsAfter: (ms) => survivorsAfter(mark, ms),
  };
}
