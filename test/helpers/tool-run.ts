import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/stack/service-process.js';

// One of the command-line tools (dist/scripts/<tool>.js) run as a user runs it, to its end: its
// exit code (or the signal that ended it) and everything it printed.

/** Longer than any of these runs takes; a hung tool fails the test instead of stalling it. */
const TOOL_RUN_TIMEOUT_MS = 120_000;
const OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

export interface ToolRun {
  readonly exit: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(
  tool: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_ROOT, 'dist/scripts', `${tool}.js`), ...args],
      {
        timeout: TOOL_RUN_TIMEOUT_MS,
        maxBuffer: OUTPUT_BYTES_MAX,
        env: { ...process.env, ...env },
      },
      (error, stdout, stderr) => {
        const exit =
          error === null ? 0 : typeof error.code === 'number' ? error.code : error.signal;
        resolve({ exit: exit ?? null, stdout, stderr });
      },
    );
  });
}

/** A Node stack trace's frame line: a tool that explains itself prints none. */
export const STACK_FRAME = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;
