import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { openLogFile, PROJECT_ROOT } from './service-process.js';

// Runs a local `nats-server -js`: for the dev stack when no NATS answers, for tests, which need
// their own server (on a free port, with a temporary store) that they can kill and restart, and as
// one node of the cluster rehearsal's three (the `cluster` option). It
// runs under a keeper (nats-keeper.ts), a small node process that stops it when this process goes,
// however it goes: a `kill -9` of `npm start` or a test runner's timeout left nats-servers behind.

export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BIN ?? 'nats-server';
/** What to do when NATS_SERVER_BINARY is not there. */
export const NATS_SERVER_INSTALL_HINT =
  'install nats-server (Debian: apt-get install -y nats-server, into /usr/sbin) and put it on ' +
  'the PATH, or set NATS_SERVER_BIN';
const KEEPER = join(PROJECT_ROOT, 'dist/scripts/stack/nats-keeper.js');
const READY_TIMEOUT_MS = 10_000;
/** The keeper SIGKILLs a server that ignores SIGTERM before this; this is for a keeper stuck. */
const STOP_TIMEOUT_MS = 5_000;
/** The end of the server's output kept to explain a failed start. */
const OUTPUT_CHARS_KEPT_MAX = 2_000;

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
  /** nats-server's output goes to this file instead of being read here (see SpawnOptions). */
  readonly logFile?: string;
  /** A node of a cluster (the cluster rehearsal); a lone server when absent. */
  readonly cluster?: NatsClusterOptions;
}

/**
 * One node of a JetStream cluster on loopback: nats-server's own flags, so no config file is
 * written. Every node may list the same routes, its own among them (nats-server drops a route to
 * itself as a duplicate).
 */
export interface NatsClusterOptions {
  /** Unique in the cluster: JetStream's Raft groups name their peers by it (n1, n2, …). */
  readonly serverName: string;
  readonly clusterName: string;
  /** Where this node listens for the other nodes' routes, on 127.0.0.1. */
  readonly routePort: number;
  /** Every node's route URL, `nats-route://127.0.0.1:<routePort>`. */
  readonly routes: readonly string[];
}

/** nats-server's flags for a node of a cluster. */
function clusterArgs(cluster: NatsClusterOptions): string[] {
  return [
    '--server_name',
    cluster.serverName,
    '--cluster_name',
    cluster.clusterName,
    '--cluster',
    `nats://127.0.0.1:${cluster.routePort}`,
    '--routes',
    cluster.routes.join(','),
  ];
}

interface KeeperMessage {
  readonly type: 'spawned' | 'ready';
  readonly pid: number;
}

export class NatsServerProcess {
  /** The keeper of the server now running, if one is. */
  private keeper: ChildProcess | null = null;
  private keeperExit: Promise<unknown> = Promise.resolve();
  private serverPid: number | undefined;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly options: NatsServerOptions,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** nats-server's own pid (not its keeper's), while it runs. */
  get pid(): number | undefined {
    return this.keeper === null ? undefined : this.serverPid;
  }

  get monitorPort(): number | null {
    return this.options.monitorPort ?? null;
  }

  static async start(options: NatsServerOptions): Promise<NatsServerProcess> {
    mkdirSync(options.storeDir, { recursive: true });
    const port = options.port ?? (await freePort());
    const server = new NatsServerProcess(port, options.storeDir, options);
    await server.spawn();
    return server;
  }

  /** Starts it again on the same port and store (after a stop or a kill). */
  async restart(): Promise<void> {
    if (this.keeper !== null) throw new Error('nats-server is still running');
    await this.spawn();
  }

  /** Resolves once the server now running has exited (at once if none runs). */
  whenExited(): Promise<void> {
    return this.keeperExit.then(() => {});
  }

  /** SIGKILL: the server dies without flushing anything. */
  async kill(): Promise<void> {
    this.killNow();
    await this.keeperExit;
  }

  /** SIGTERM (through the keeper, which SIGKILLs a server that lingers). */
  async stop(): Promise<void> {
    const keeper = this.keeper;
    if (keeper === null) return;
    keeper.kill('SIGTERM');
    const timer = setTimeout(() => this.killNow(), STOP_TIMEOUT_MS);
    await this.keeperExit;
    clearTimeout(timer);
  }

  /** Synchronous, for a parent's last moment: the server and its keeper, SIGKILLed. */
  killNow(): void {
    if (this.keeper === null) return;
    if (this.serverPid !== undefined) {
      try {
        process.kill(this.serverPid, 'SIGKILL');
      } catch {
        // Gone already; its keeper is about to go too.
      }
    }
    this.keeper.kill('SIGKILL');
  }

  private async spawn(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir];
    if (this.options.monitorPort !== undefined) args.push('-m', String(this.options.monitorPort));
    if (this.options.cluster !== undefined) args.push(...clusterArgs(this.options.cluster));
    const logFd = this.options.logFile === undefined ? null : openLogFile(this.options.logFile);
    let keeper: ChildProcess;
    try {
      keeper = spawn(process.execPath, [KEEPER, NATS_SERVER_BINARY, ...args], {
        stdio: ['ignore', logFd ?? 'ignore', logFd ?? 'pipe', 'ipc'],
        detached: this.options.ownProcessGroup ?? false,
      });
    } finally {
      if (logFd !== null) closeSync(logFd);
    }
    // The keeper must not keep this process alive; its channel is how it knows we are gone.
    keeper.channel?.unref();
    this.keeper = keeper;
    this.serverPid = undefined;
    this.keeperExit = once(keeper, 'exit').then(() => {
      if (this.keeper === keeper) this.keeper = null;
    });
    keeper.on('message', (message: KeeperMessage) => {
      if (this.keeper === keeper) this.serverPid = message.pid;
    });
    await this.waitForReady(keeper);
  }

  private waitForReady(keeper: ChildProcess): Promise<void> {
    let output = '';
    keeper.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_CHARS_KEPT_MAX);
    });
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        cleanup();
        this.killNow();
        const where = this.options.logFile ?? output;
        reject(new Error(`nats-server did not start: ${reason}\n${where}`));
      };
      const onMessage = (message: KeeperMessage) => {
        if (message.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onExit = (code: number | null) => fail(`exited with ${code}`);
      const timer = setTimeout(
        () => fail(`not ready after ${READY_TIMEOUT_MS} ms`),
        READY_TIMEOUT_MS,
      );
      const cleanup = () => {
        clearTimeout(timer);
        keeper.off('message', onMessage);
        keeper.off('exit', onExit);
      };
      keeper.on('message', onMessage);
      keeper.once('exit', onExit);
    });
  }
}
