import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fstatSync, openSync, readSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReadyMessage } from '../../service-kit/parent-watch.js';

// One of our services (engine, gateway, …) as a real child process running its compiled entry
// under dist/, so tests and chaos scripts can SIGKILL it at any moment. It says over its IPC
// channel when it is ready (service-kit/parent-watch.ts), whatever its LOG_LEVEL. Its JSON log
// lines are parsed and can be awaited, or, for a long run under load (`npm start`), go straight
// to a file that nothing here reads.

export type { ReadyMessage } from '../../service-kit/parent-watch.js';

// This file runs from source (tests) and from dist/ (scripts); services always run compiled.
export const PROJECT_ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url),
);
const LOG_WAIT_MS = 30_000;
const READY_WAIT_MS = 30_000;
/** Log lines quoted when a process fails to say what was awaited. */
const LAST_LOG_LINES = 5;
/**
 * Parsed log lines kept, the newest: a gateway at LOG_LEVEL=info logs per request, and a long
 * test must not grow without bound. Dropped a tenth at a time, so a drop is rare.
 */
export const LOG_LINES_KEPT_MAX = 50_000;
/** The end of stderr (or of the log file) kept to explain a failure. */
const STDERR_CHARS_KEPT_MAX = 4_000;

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
  /**
   * Its stdout and stderr go to this file, which this process opens and hands over, instead of
   * being parsed here: no pipe to read at request rates, and none that could block the child
   * once this process is gone. An earlier run's file is kept beside it as `<name>.previous`.
   * `logs` stays empty and `waitForLog` refuses.
   */
  readonly logFile?: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

type Waiter = { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void };

/** A fresh log file for a run, the previous run's kept; the fd is for the child alone. */
export function openLogFile(path: string): number {
  try {
    renameSync(path, `${path}.previous`);
  } catch {
    // No earlier run.
  }
  return openSync(path, 'a');
}

/** The last `bytes` bytes of a file, or '' if it can't be read. */
function fileTail(path: string, bytes: number): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.min(size, bytes));
      const read = readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      return buffer.subarray(0, read).toString();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

export class ServiceProcess {
  /**
   * Every ServiceProcess of this process that has not exited yet, in spawn order. A parent that
   * must leave mid-start (the dev stack on Ctrl-C, or when a port is taken) stops these: the
   * `start()` helpers hand their process over only once it is ready.
   */
  static readonly running: ReadonlySet<ServiceProcess> = new Set();
  /** The newest LOG_LINES_KEPT_MAX log lines (none with `logFile`). */
  readonly logs: LogLine[] = [];
  /** The compiled entry it runs, e.g. `engine/main.js`: names it in the dev stack's messages. */
  readonly main: string;
  readonly logFile: string | null;
  readonly exited: Promise<Exit>;
  private readonly readyMessage: Promise<ReadyMessage>;
  private readonly waiters = new Set<Waiter>();
  private stderr = '';
  private readonly child: ChildProcess;

  constructor(options: SpawnOptions) {
    this.main = options.main;
    this.logFile = options.logFile ?? null;
    const logFd = this.logFile === null ? null : openLogFile(this.logFile);
    try {
      this.child = spawn(
        process.execPath,
        [...(options.nodeFlags ?? []), join(PROJECT_ROOT, 'dist', options.main)],
        {
          env: { ...process.env, ...options.env },
          // The IPC channel says when the service is ready, and is how it knows we are gone,
          // however we went (service-kit/parent-watch.ts).
          stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe', 'ipc'],
          detached: options.ownProcessGroup ?? false,
        },
      );
    } finally {
      if (logFd !== null) closeSync(logFd);
    }
    const child = this.child;
    // Nor must it keep this process alive.
    child.channel?.unref();
    const running = ServiceProcess.running as Set<ServiceProcess>;
    running.add(this);
    this.exited = once(child, 'exit').then(([code, signal]) => {
      running.delete(this);
      return { code, signal };
    });
    this.readyMessage = this.whenReadyMessage();
    if (child.stdout !== null)
      createInterface({ input: child.stdout }).on('line', (text) => this.onLine(text));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_CHARS_KEPT_MAX);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * The service's ready message, with what it tells (its ports); rejects if it exits first or
   * is not ready in time.
   */
  ready(timeoutMs = READY_WAIT_MS): Promise<ReadyMessage> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.main} not ready in ${timeoutMs} ms; ${this.lastWords()}`)),
        timeoutMs,
      );
    });
    return Promise.race([this.readyMessage, late]).finally(() => clearTimeout(timer));
  }

  /** The first log line (already seen or still to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = LOG_WAIT_MS): Promise<LogLine> {
    if (this.logFile !== null)
      return Promise.reject(new Error(`${this.main} logs to ${this.logFile}, which is not read`));
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

  /**
   * What `started` brings once the process gets there (ready, serving); a process that never does
   * is killed before the error goes on, so no caller is left holding a half-started one.
   */
  protected async startedOrKilled<T>(started: Promise<T>): Promise<T> {
    try {
      return await started;
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Resolves with the first ready message; rejects, saying why, if the process exits first. */
  private whenReadyMessage(): Promise<ReadyMessage> {
    const ready = new Promise<ReadyMessage>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if ((message as Partial<ReadyMessage> | null)?.type !== 'ready') return;
        this.child.off('message', onMessage);
        resolve(message as ReadyMessage);
      };
      this.child.on('message', onMessage);
      void this.exited.then(({ code, signal }) => {
        this.child.off('message', onMessage);
        reject(
          new Error(
            `process exited (${code ?? signal}) before it was ready (${this.main}); ${this.lastWords()}`,
          ),
        );
      });
    });
    // Awaited only by those who start it: an early exit is not an unhandled rejection.
    ready.catch(() => {});
    return ready;
  }

  /** What a failure message should show: the last log lines and the end of stderr. */
  private lastWords(): string {
    if (this.logFile !== null)
      return `the end of ${this.logFile}: ${fileTail(this.logFile, STDERR_CHARS_KEPT_MAX)}`;
    const lines = this.logs.slice(-LAST_LOG_LINES).map((line) => JSON.stringify(line));
    return `last log lines: ${lines.join('\n')}; stderr: ${this.stderr}`;
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    if (this.logs.length >= LOG_LINES_KEPT_MAX) this.logs.splice(0, LOG_LINES_KEPT_MAX / 10);
    this.logs.push(line);
    for (const waiter of this.waiters) {
      if (waiter.match(line)) {
        this.waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }
}
