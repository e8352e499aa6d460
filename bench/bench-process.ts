import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../scripts/lib/service-process.js';

// The benches' own child processes (dist/bench/…): forked, then ready once they send their first
// IPC message (a server sends its port). One that exits before that fails the bench at once.

const READY_WAIT_MS_MAX = 30_000;

export async function forkBenchProcess(
  file: string,
  options: { env?: NodeJS.ProcessEnv; args?: readonly string[] } = {},
): Promise<{ child: ChildProcess; message: unknown }> {
  const child = fork(join(PROJECT_ROOT, 'dist/bench', file), [...(options.args ?? [])], {
    env: options.env ?? process.env,
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`${file} exited (${code ?? signal}) before it was ready`);
  });
  const ready = once(child, 'message', { signal: AbortSignal.timeout(READY_WAIT_MS_MAX) });
  const [message] = await Promise.race([ready, exited]).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  exited.catch(() => {}); // It exits later, when the bench stops it.
  return { child, message };
}

/** A bench HTTP server: ready once it has sent `{ port }`. */
export async function startBenchServer(
  file: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ url: string; child: ChildProcess }> {
  const { child, message } = await forkBenchProcess(file, env === undefined ? {} : { env });
  return { url: `http://127.0.0.1:${(message as { port: number }).port}`, child };
}
