import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

// Which processes a test started, however deep and however detached: the test marks the
// environment of the first one, every descendant inherits it, and /proc tells which marked
// processes still live. (Only the environment a process started with shows in /proc.)

export const MARK_VARIABLE = 'PROCESS_TEST_MARK';
/** What `npm start` and the tests' services promise: nothing outlives its parent by more. */
export const OUTLIVE_MS_MAX = 5_000;
const POLL_INTERVAL_MS = 50;

export function newMark(): string {
  return `${process.pid}-${Math.random()}`;
}

/** Live processes with the mark (zombies aside), with their command lines. */
export function markedProcesses(mark: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // A zombie's environ reads empty: it is gone but for its exit status.
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

export function survivors(mark: string): string[] {
  return markedProcesses(mark).map(({ pid, command }) => `${pid} ${command}`);
}

/** Polls until no marked process is left, for at most `ms`; answers those left. */
export async function survivorsAfter(mark: string, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  while (survivors(mark).length > 0 && Date.now() < deadline) await delay(POLL_INTERVAL_MS);
  return survivors(mark);
}

/** SIGKILL to every marked process: a test's teardown, should it fail half-way. */
export function killMarked(mark: string): void {
  for (const { pid } of markedProcesses(mark)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}
