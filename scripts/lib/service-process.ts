import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// One of our services (engine, gateway, …) as a real child process running its compiled entry
// under dist/, so tests and chaos scripts can SIGKILL it at any moment. Its JSON log lines are
// parsed and can be awaited.

// This file runs from source (tests) and from dist/ (scripts); services always run compiled.
export const PROJECT_ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url),
);
const LOG_WAIT_MS = 30_000;
/** Log lines quoted when a process fails to say what was awaited. */
const LAST_LOG_LINES = 5;

export interface LogLine {
  readonly level: number;
  /** pino's timestamp, ms since the epoch. */
  readonly time: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface SpawnOptions {
  /** The compiled entry, relative to dist/ (e.g. `engine/main.js`). */
  readonly main: string;
  readonly env: Readonly<Record<string, string>>;
  /** Extra node flags, e.g. from ENGINE_NODE_FLAGS for profiling. */
  readonly nodeFlags?: readonly string[];
  /** Detached in its own process group, so a terminal's Ctrl-C reaches only the parent. */
  readonly ownProcessGroup?: boolean;
}

type Waiter = { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void };

export class ServiceProcess {
  /**
   * Every ServiceProcess of this process that has not exited yet, in spawn order. A parent that
   * must leave mid-start (the dev stack on Ctrl-C, or when a port is taken) stops these: the
   * `start()` helpers hand their process over only once it is ready.
   */
  static readonly running: ReadonlySet<ServiceProcess> = new Set();
  readonly logs: LogLine[] = [];
  /** The compiled entry it runs, e.g. `engine/main.js`: names it in the dev stack's messages. */
  readonly main: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<Waiter>();
  private stderr = '';
  private readonly child: ChildProcess;

  constructor(options: SpawnOptions) {
    this.main = options.main;
    this.child = spawn(
      process.execPath,
      [...(options.nodeFlags ?? []), join(PROJECT_ROOT, 'dist', options.main)],
      {
        env: { ...process.env, ...options.env },
        // The IPC channel is how the service knows we are gone, however we went
        // (service-kit/parent-watch.ts); nothing is sent over it.
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        detached: options.ownProcessGroup ?? false,
      },
    );
    const child = this.child;
    // Nor must it keep this process alive.
    child.channel?.unref();
    const running = ServiceProcess.running as Set<ServiceProcess>;
    running.add(this);
    this.exited = once(child, 'exit').then(([code, signal]) => {
      running.delete(this);
      return { code, signal };
    });
    createInterface({ input: child.stdout! }).on('line', (text) => this.onLine(text));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The first log line (already seen or still to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = LOG_WAIT_MS): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`log line not seen in ${timeoutMs} ms; ${this.lastWords()}`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.waiters.add(waiter);
      void this.exited.then(({ code, signal }) => {
        if (!this.waiters.has(waiter)) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        reject(
          new Error(`process exited (${code ?? signal}) before the log line; ${this.lastWords()}`),
        );
      });
    });
  }

  async kill(
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** What a failure message should show: the last log lines and the end of stderr. */
  private lastWords(): string {
    const lines = this.logs.slice(-LAST_LOG_LINES).map((line) => JSON.stringify(line));
    return `last log lines: ${lines.join('\n')}; stderr: ${this.stderr.slice(-2000)}`;
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    this.logs.push(line);
    for (const waiter of this.waiters) {
      if (waiter.match(line)) {
        this.waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }
}
