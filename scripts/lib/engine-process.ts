import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The engine as a real child process (the compiled dist/engine/main.js), so tests and the chaos
// script can SIGKILL it at any moment. Its JSON log lines are parsed and can be awaited.

// This file runs from source (tests) and from dist/ (scripts); the engine always runs compiled.
const PROJECT_ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url),
);
const ENGINE_MAIN = join(PROJECT_ROOT, 'dist', 'engine', 'main.js');
const LOG_WAIT_MS = 30_000;

export interface EngineProcessOptions {
  readonly natsUrl: string;
  readonly walDir: string;
  readonly sales: readonly string[];
  readonly leaseTtlMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** See NatsServerOptions.ownProcessGroup. */
  readonly ownProcessGroup?: boolean;
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

type Waiter = { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void };

/** `ENGINE_NODE_FLAGS="--cpu-prof"` profiles the engine of a bench or chaos run. */
function nodeFlags(): string[] {
  return process.env.ENGINE_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
}

export class EngineProcess {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<Waiter>();
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
    createInterface({ input: child.stdout! }).on('line', (text) => this.onLine(text));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  /** Spawns the engine; does not wait for it to serve (see `serving`). */
  static spawn(options: EngineProcessOptions): EngineProcess {
    const env = {
      ...process.env,
      NATS_URL: options.natsUrl,
      WAL_DIR: options.walDir,
      ENGINE_SALES: options.sales.join(','),
      LEASE_TTL_MS: String(options.leaseTtlMs ?? 3_000),
      LOG_LEVEL: 'info',
      // Many engines share a machine in tests: each takes a free port, read from its log.
      ENGINE_METRICS_PORT: '0',
      ...options.env,
    };
    const engine = new EngineProcess(
      spawn(process.execPath, [...nodeFlags(), ENGINE_MAIN], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: options.ownProcessGroup ?? false,
      }),
    );
    return engine;
  }

  static async start(options: EngineProcessOptions): Promise<EngineProcess> {
    const engine = EngineProcess.spawn(options);
    try {
      await engine.serving();
    } catch (error) {
      await engine.kill();
      throw error;
    }
    return engine;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The port of the engine's `GET /metrics`, once it listens. */
  async metricsPort(): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'metrics at GET /metrics');
    return line.port as number;
  }

  serving(): Promise<LogLine> {
    return this.waitForLog((line) => line.msg === 'engine serving');
  }

  /** The first log line (already seen or still to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = LOG_WAIT_MS): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `engine log line not seen in ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`,
          ),
        );
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
          new Error(
            `engine exited (${code ?? signal}) before the log line; stderr: ${this.stderr.slice(-2000)}`,
          ),
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
