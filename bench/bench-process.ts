import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../scripts/stack/service-process.js';

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
  const message = await nextMessage(child, file, READY_WAIT_MS_MAX).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return { child, message };
}

/**
 * The child's next IPC message. Fails if the child exits first or nothing comes within
 * `timeoutMs`; either way no listener is left behind.
 */
export async function nextMessage(
  child: ChildProcess,
  what: string,
  timeoutMs: number,
): Promise<unknown> {
  const answered = new AbortController();
  const exited = once(child, 'exit', { signal: answered.signal }).then(([code, signal]) => {
    throw new Error(`${what} exited (${code ?? signal})`);
  });
  const message = once(child, 'message', { signal: AbortSignal.timeout(timeoutMs) });
  try {
    const [first] = await Promise.race([message, exited]);
    return first;
  } finally {
    answered.abort();
    exited.catch(() => {}); // Aborted, or the race's loser.
    message.catch(() => {});
  }
}

/** A bench HTTP server: ready once it has sent `{ port }`. */
export async function startBenchServer(
  file: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ url: string; child: ChildProcess }> {
  const { child, message } = await forkBenchProcess(file, env === undefined ? {} : { env });
  return { url: `http://127.0.0.1:${(message as { port: number }).port}`, child };
}
