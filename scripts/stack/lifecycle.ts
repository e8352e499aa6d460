import type { NatsConnection } from '@nats-io/transport-node';
import { whenLauncherGoes } from './launcher-watch.js';
import type { NatsServerProcess } from './nats-server.js';
import { ServiceProcess } from './service-process.js';
import { messageOf, StartError } from './start-errors.js';

// The life of a script that runs a whole stack of child processes on one machine (`npm start`,
// `npm run cluster`): whatever happens — a failed start, Ctrl-C, SIGTERM or a closed terminal at
// any moment, a child dying, npm killed under it — it stops everything it started, newest first,
// within a stop budget, SIGKILLing what is left then. A second Ctrl-C SIGKILLs what is left at
// once. Should the script die without a word (`kill -9`), each child stops by itself: it watches
// its IPC channel to the script (service-kit/parent-watch.ts, and nats-keeper.ts for nats-server).
//
// Every child runs in a process group of its own (a terminal's Ctrl-C reaches only the script,
// which stops them in order). The services are ServiceProcess.running; the nats-servers and the
// script's own NATS connection are handed to this class as they start.

export interface StackLifecycleOptions {
  /** Names the script in its messages, e.g. `npm start`. */
  readonly name: string;
  /** From a stop request to the last process gone; SIGKILL for whatever is left then. */
  readonly stopBudgetMs: number;
  /** How often to look whether npm (or whoever launched the script) is still there. */
  readonly launcherPollIntervalMs: number;
}

/** One of the stack's processes that has exited, for the line that says so. */
export interface StackExit {
  readonly who: string;
  /** Its exit code or signal, when known. */
  readonly how?: string;
}

/** Flushing the script's own NATS connection on the way out; with NATS gone it would never drain. */
const DRAIN_TIMEOUT_MS = 1_000;
const EXIT_FAILED = 1;
/** A second Ctrl-C: 128 + SIGINT, as a shell reports a process killed by it. */
const EXIT_FORCED = 130;

/** Thrown by a start step once a stop was asked for: not a failure to report. */
export class StopRequested extends Error {}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done in ${ms} ms`)), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function exitOf(who: string, service: ServiceProcess): Promise<StackExit> {
  return service.exited.then(({ code, signal }) => ({ who, how: String(code ?? signal) }));
}

/** Resolves when the nats-server now running has exited. */
export function natsExitOf(who: string, server: NatsServerProcess): Promise<StackExit> {
  return server.whenExited().then(() => ({ who }));
}

export class StackLifecycle {
  private readonly natsServers: NatsServerProcess[] = [];
  /** Our nats-servers while they start: a stop must wait for them to have something to stop. */
  private readonly natsStarting: Promise<unknown>[] = [];
  private connection: NatsConnection | null = null;
  /** Set by the first stop request; every later step of the start gives up when it is. */
  private stopping: Promise<never> | null = null;

  constructor(private readonly options: StackLifecycleOptions) {}

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  checkNotStopping(): void {
    if (this.stopping !== null) throw new StopRequested('stopping');
  }

  /** A nats-server of ours, being started: stopped after the services. */
  async ownNats(starting: Promise<NatsServerProcess>): Promise<NatsServerProcess> {
    this.natsStarting.push(starting);
    const server = await starting;
    this.natsServers.push(server);
    return server;
  }

  /** The script's own NATS connection: drained after the services stop. */
  useConnection(connection: NatsConnection): NatsConnection {
    this.connection = connection;
    return connection;
  }

  /** Installed before anything is spawned: there is no moment at which we could leak children. */
  installHandlers(): void {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.on(signal, (received) => this.onSignal(received));
    // After SIGHUP the terminal is gone and writes to it fail (EIO): stopping must go on.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
    for (const event of ['uncaughtException', 'unhandledRejection'] as const)
      process.on(event, (error: unknown) => {
        console.error(`${this.options.name}: unexpected error: ${messageOf(error)}`);
        void this.stopAndExit(EXIT_FAILED);
      });
    // The last resort, should the process leave by a path not foreseen here.
    process.on('exit', () => this.killEverythingNow());
    whenLauncherGoes((pid) => {
      if (this.stopping !== null) return;
      console.error(`the process that started us (pid ${pid}) is gone: stopping…`);
      void this.stopAndExit(0);
    }, this.options.launcherPollIntervalMs);
  }

  /** Stops everything once (later calls share the first), then exits with `code`. */
  stopAndExit(code: number): Promise<never> {
    this.stopping ??= this.stopAll()
      .catch((error: unknown) => console.error(`while stopping: ${messageOf(error)}`))
      .then(() => {
        console.log('stopped');
        process.exit(code);
      });
    return this.stopping;
  }

  /** Runs until a signal stops the stack or one of `exits` happens: then stops the rest. */
  async stopOnFirstExit(exits: readonly Promise<StackExit>[]): Promise<never> {
    const exit = await Promise.race(exits);
    if (this.stopping !== null) return this.stopping;
    const how = exit.how === undefined ? '' : ` (${exit.how})`;
    console.error(`${exit.who} exited unexpectedly${how}: stopping the rest`);
    return this.stopAndExit(EXIT_FAILED);
  }

  /** What the script's start ends with when a step throws. */
  startFailed(error: unknown): Promise<never> {
    if (this.stopping !== null) return this.stopping; // a signal or a dead child stopped the start
    const prefix = error instanceof StartError ? this.options.name : `${this.options.name} failed`;
    console.error(`${prefix}: ${messageOf(error)}`);
    return this.stopAndExit(EXIT_FAILED);
  }

  /**
   * Synchronous, so it also works from an 'exit' handler. A nats-server still starting has no
   * handle here yet: its keeper stops it once we are gone.
   */
  killEverythingNow(): void {
    for (const service of ServiceProcess.running) void service.kill('SIGKILL');
    for (const server of this.natsServers) server.killNow();
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.stopping === null) {
      console.log(`${signal}: stopping… (Ctrl-C again kills everything at once)`);
      void this.stopAndExit(0);
    } else {
      console.error(`${signal} again: killing what still runs`);
      this.killEverythingNow();
      process.exit(EXIT_FORCED);
    }
  }

  /**
   * Newest first: the gateways (they finish their requests) before what they call, the engines
   * (they flush their WALs) before NATS; then our connection and our nats-servers. Asks the
   * newest process still running each time, so one the start spawned meanwhile is stopped too.
   */
  private async stopAll(): Promise<void> {
    const { stopBudgetMs } = this.options;
    const deadline = Date.now() + stopBudgetMs;
    const budgetSpent = setTimeout(() => {
      console.error(`not stopped in ${stopBudgetMs} ms: SIGKILL for what is left`);
      this.killEverythingNow();
    }, stopBudgetMs);
    try {
      for (let last = newestService(); last !== undefined; last = newestService())
        await last.kill('SIGTERM');
      await this.closeConnection(deadline - Date.now());
      // A nats-server still starting at the deadline is its keeper's to stop once we exit.
      await withTimeout(Promise.allSettled(this.natsStarting), deadline - Date.now()).catch(
        () => {},
      );
      await Promise.all(this.natsServers.map((server) => server.stop()));
    } finally {
      clearTimeout(budgetSpent);
    }
  }

  /** Drains our connection, or closes it: NATS may be gone already (that is why we stop). */
  private async closeConnection(timeoutMs: number): Promise<void> {
    const connection = this.connection;
    if (connection === null) return;
    this.connection = null;
    try {
      await withTimeout(connection.drain(), Math.min(DRAIN_TIMEOUT_MS, timeoutMs));
    } catch {
      await connection.close().catch(() => {});
    }
  }
}

function newestService(): ServiceProcess | undefined {
  return [...ServiceProcess.running].at(-1);
}
