import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { freePort } from './free-port.js';

// Runs a local `nats-server -js` as a child process: for the dev stack when no NATS answers, and
// for tests, which need their own server (on a free port, with a temporary store) that they can
// kill and restart.

export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BIN ?? 'nats-server';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface NatsServerOptions {
  readonly storeDir: string;
  readonly port?: number;
  /**
   * Run in a process group of its own, so a terminal's Ctrl-C reaches only the parent, which
   * then stops its children in order (the dev stack: engine first, NATS last).
   */
  readonly ownProcessGroup?: boolean;
  /** Serves the HTTP monitoring endpoints (`/connz`, `/subsz`, …) on this port when given. */
  readonly monitorPort?: number;
}

export class NatsServerProcess {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly ownProcessGroup: boolean,
    readonly monitorPort: number | null = null,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  static async start(options: NatsServerOptions): Promise<NatsServerProcess> {
    mkdirSync(options.storeDir, { recursive: true });
    const port = options.port ?? (await freePort());
    const server = new NatsServerProcess(
      port,
      options.storeDir,
      options.ownProcessGroup ?? false,
      options.monitorPort ?? null,
    );
    await server.spawn();
    return server;
  }

  /** Starts it again on the same port and store (after a stop or a kill). */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error('nats-server is still running');
    await this.spawn();
  }

  /** SIGKILL: the server dies without flushing anything. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    this.child = null;
  }

  private async spawn(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir];
    if (this.monitorPort !== null) args.push('-m', String(this.monitorPort));
    const child = spawn(NATS_SERVER_BINARY, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: this.ownProcessGroup,
    });
    this.child = child;
    child.on('exit', () => {
      if (this.child === child) this.child = null;
    });
    await waitForReady(child);
  }
}

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const fail = (reason: string) => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not start: ${reason}\n${output.slice(-2000)}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        cleanup();
        // Keep draining stderr so the server never blocks on a full pipe.
        child.stderr?.resume();
        resolve();
      }
    };
    const onExit = (code: number | null) => fail(`exited with ${code}`);
    const onError = (error: Error) => fail(error.message);
    const timer = setTimeout(
      () => fail(`not ready after ${READY_TIMEOUT_MS} ms`),
      READY_TIMEOUT_MS,
    );
    const cleanup = () => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}
