import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';

// A whole stack run as its user runs it: `node <script>` (npm start's dev-stack.js or the
// rehearsal's cluster.js), ready once it prints its last welcome line; what it printed up to
// then is where the bench reads its gateways, engines and pids. Stopped with SIGTERM as Ctrl-C
// would, SIGKILLed past a bound, and its temporary data directory removed.

/** The rehearsal waits for JetStream to place three replicas of every stream: tens of seconds. */
const READY_WAIT_MS_MAX = 180_000;
/** Both stacks promise to be gone a few seconds after SIGTERM; past this it is SIGKILLed. */
const STOP_WAIT_MS_MAX = 15_000;
/** What is kept of its output: the welcome text is a few KB, the rest only for an error. */
const OUTPUT_CHARS_MAX = 64_000;

export interface StackProcess {
  readonly child: ChildProcess;
  /** Everything it printed up to its ready line. */
  readonly welcome: string;
  stop(): Promise<void>;
}

export interface StackLaunch {
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly readyLine: RegExp;
  /** Removed once the stack has stopped. */
  readonly dataDir: string;
}

export async function startStackProcess(launch: StackLaunch): Promise<StackProcess> {
  // Only PATH (to find node and nats-server) from our environment: no setting of ours leaks in.
  const child = spawn(process.execPath, [launch.script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.NATS_SERVER_BIN === undefined
        ? {}
        : { NATS_SERVER_BIN: process.env.NATS_SERVER_BIN }),
      ...launch.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await rm(launch.dataDir, { recursive: true, force: true });
  };
  try {
    const welcome = await readyOutput(child, launch.readyLine);
    return { child, welcome, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Its output up to the ready line; fails with that output if it exits or takes too long. */
async function readyOutput(child: ChildProcess, readyLine: RegExp): Promise<string> {
  let output = '';
  const printed = new Promise<string>((resolve) => {
    const keep = (chunk: Buffer): void => {
      if (output.length >= OUTPUT_CHARS_MAX) return;
      output += chunk.toString();
      if (readyLine.test(output)) resolve(output);
    };
    // Read on after that too: a pipe nobody reads would block the stack once full.
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(
      `${describe(child)} exited (${code ?? signal}) before it was ready:\n${output}`,
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`${describe(child)} not ready in ${READY_WAIT_MS_MAX} ms:\n${output}`)),
      READY_WAIT_MS_MAX,
    );
  });
  try {
    return await Promise.race([printed, exited, late]);
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

const describe = (child: ChildProcess): string => child.spawnargs.slice(1).join(' ');

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_WAIT_MS_MAX);
  await exited;
  clearTimeout(timer);
}
