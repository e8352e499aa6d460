import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import t from 'tap';
import { LEASE_BUCKET } from '../engine/protocol/subjects.js';
import { freePort } from '../scripts/lib/free-port.js';
import { PROJECT_ROOT } from '../scripts/lib/service-process.js';
import { natsClient, startNats, type Teardown, tempDir } from './helpers/nats.js';

// `npm start` (dist/scripts/dev-stack.js) as a real process on private ports, with its own
// nats-server: however it ends — a port already taken, Ctrl-C mid-start, a child dying, a refused
// engine — it leaves none of the processes it started behind. Its children run detached, so
// nothing else would stop them: each run marks its environment, which every descendant inherits,
// and /proc tells which marked processes still live once it has exited.

const DEV_STACK = join(PROJECT_ROOT, 'dist/scripts/dev-stack.js');
const MARK_VARIABLE = 'DEV_STACK_TEST_MARK';
/** The last line `npm start` prints once everything runs. */
const READY_LINE = /Ctrl-C stops the stack/;

interface DevStack {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves once the output matches; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Once it has exited and its output is complete. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Processes started by this run that are still alive, with their command lines. */
  survivors(): string[];
}

function markedProcesses(mark: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (!environ.includes(`${MARK_VARIABLE}=${mark}`)) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ');
      found.push({ pid: Number(entry), command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Private ports and directories: nothing shared with `npm start` or the machine's NATS. */
async function privateEnv(t: Teardown): Promise<Record<string, string>> {
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

function runDevStack(t: Teardown, env: Record<string, string>): DevStack {
  const mark = `${process.pid}-${Math.random()}`;
  const { LEASE_TTL_MS: _, ...inherited } = process.env;
  const child = spawn(process.execPath, [DEV_STACK], {
    env: { ...inherited, ...env, [MARK_VARIABLE]: mark },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Should a test fail half-way, nothing of it outlives the test.
  t.teardown(() => {
    child.kill('SIGKILL');
    for (const { pid } of markedProcesses(mark)) process.kill(pid, 'SIGKILL');
  });
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
  const survivors = () => markedProcesses(mark).map(({ pid, command }) => `${pid} ${command}`);
  return { child, output: () => output, waitFor, closed, survivors };
}

async function occupy(t: Teardown, port: number): Promise<Server> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

t.test('a gateway port already taken: it fails, saying so, and stops all it started', async (t) => {
  const env = await privateEnv(t);
  await occupy(t, Number(env.PORT));
  const stack = runDevStack(t, env);
  const { code } = await stack.closed;
  const output = stack.output();
  t.equal(code, 1, 'exits 1', { output });
  t.match(output, /engine serving demo/, 'the engine (and NATS) had started');
  t.match(output, `gateway 1 cannot listen on 127.0.0.1:${env.PORT}, which is in use: set PORT`);
  t.same(stack.survivors(), [], 'none of its processes is left');
});

t.test('Ctrl-C during the start stops what has started, then exits 0', async (t) => {
  const stack = runDevStack(t, await privateEnv(t));
  await stack.waitFor(/engine serving demo/);
  stack.child.kill('SIGINT');
  const { code } = await stack.closed;
  t.equal(code, 0, 'exits 0', { output: stack.output() });
  t.match(stack.output(), /stopped/);
  t.same(stack.survivors(), [], 'none of its processes is left');
});

t.test('the engine dying while the stack runs stops the rest', async (t) => {
  const stack = runDevStack(t, await privateEnv(t));
  const output = await stack.waitFor(READY_LINE);
  const enginePid = Number(/engine serving demo \(pid (\d+)/.exec(output)![1]);
  process.kill(enginePid, 'SIGKILL');
  const { code } = await stack.closed;
  t.equal(code, 1, 'exits 1', { output: stack.output() });
  t.match(stack.output(), /engine exited unexpectedly \(SIGKILL\): stopping the rest/);
  t.same(stack.survivors(), [], 'none of its processes is left');
});

t.test('no nats-server to start: one clear line, not a stack trace', async (t) => {
  const stack = runDevStack(t, {
    ...(await privateEnv(t)),
    NATS_SERVER_BIN: '/nonexistent/nats-server',
  });
  const { code } = await stack.closed;
  const output = stack.output();
  t.equal(code, 1, 'exits 1', { output });
  t.match(output, /no NATS answers at nats:\/\/\S+ and there is no `\/nonexistent\/nats-server`/);
  t.match(output, /apt-get install -y nats-server/);
  t.notMatch(output, /^\s+at /m, 'no stack trace');
});

t.test('a lease bucket with another TTL: a hint, and LEASE_TTL_MS is passed on', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  // As an engine with LEASE_TTL_MS=10000 (the engine's default) leaves it on a shared NATS.
  await new Kvm(nc).create(LEASE_BUCKET, { ttl: 10_000, history: 1 });
  const env = { ...(await privateEnv(t)), NATS_URL: nats.url };

  const refused = runDevStack(t, env);
  const { code } = await refused.closed;
  t.equal(code, 1, 'the dev default (3000 ms) is refused', { output: refused.output() });
  t.match(refused.output(), /run `LEASE_TTL_MS=10000 npm start`/);
  t.same(refused.survivors(), [], 'none of its processes is left');

  const agreeing = runDevStack(t, { ...env, LEASE_TTL_MS: '10000' });
  await agreeing.waitFor(READY_LINE);
  agreeing.child.kill('SIGTERM');
  t.equal((await agreeing.closed).code, 0, 'serves with the bucket’s TTL, stops on SIGTERM');
  t.same(agreeing.survivors(), [], 'none of its processes is left');
});
