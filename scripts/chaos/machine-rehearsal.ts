import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, renameSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../stack/service-process.js';

// The cluster rehearsal (`npm run cluster`) as a real child process, as a user runs it, for the
// machine-loss rounds: free ports and a private data directory, its machines read from the lines
// it prints (and the pids it prints on each restart), and the loss of a machine done as a power
// cut would: SIGKILL of its engine and its nats-server, its directory deleted. The rehearsal then
// brings the machine back empty (scripts/cluster/restart.ts), which this watches for.

const CLUSTER_SCRIPT = join(PROJECT_ROOT, 'dist/scripts/cluster.js');
const READY_LINE = /Ctrl-C stops the rehearsal/;
const MACHINE_LINE =
  /^machine (\d): engine pid (\d+), nats pid (\d+), nats (nats:\/\/\S+), data (\S+)$/gm;
const RESTART_LINE = /^machine (\d): (engine|nats-server) restarted, pid (\d+)$/;
/** Nine processes start on two busy cores, and JetStream must elect every leader first. */
const START_TIMEOUT_MS = 180_000;
const DELETE_RETRIES = 10;
/** The rehearsal's own stop budget is 4.5 s; past this it is SIGKILLed (its children follow). */
const STOP_TIMEOUT_MS = 15_000;
/** The rehearsal's output kept, the newest: quoted when it fails. */
const OUTPUT_CHARS_KEPT_MAX = 200_000;
/**
 * Settings for the rehearsal's gateways, passed down through its environment. Every client here
 * comes from 127.0.0.1, so the per-address rate limit (20/s by default) would turn the burst into
 * 429s that real customers, each from an address of their own, never see; and the event-loop
 * shedding would answer 503 OVERLOADED on two cores shared by eleven processes. Both are tested
 * elsewhere; the clients retry either, so they would only add noise to the failover figures.
 */
const GATEWAY_ENV = { RATE_LIMIT_MAX: '1000000', EVENT_LOOP_DELAY_MS_MAX: '0' } as const;

export interface RehearsalMachine {
  readonly n: number;
  enginePid: number;
  natsPid: number;
  /** When (performance.now()) the rehearsal said it had restarted each; 0 before any restart. */
  engineRestartedAt: number;
  natsRestartedAt: number;
  readonly natsUrl: string;
  /** Its directory: nats/ (the node's store), wal/ (the engine's) and logs/. */
  readonly dir: string;
}

/** A machine's loss: when, and which processes it killed. */
export interface MachineLoss {
  readonly n: number;
  readonly killedAt: number;
  readonly enginePid: number;
  readonly natsPid: number;
}

type Waiter = { readonly match: (line: string) => boolean; readonly resolve: () => void };

export class Rehearsal {
  private output = '';
  private readonly waiters = new Set<Waiter>();
  readonly machines: RehearsalMachine[] = [];
  gatewayUrls: string[] = [];
  carrierUrl = '';
  readonly closed: Promise<unknown>;

  private constructor(
    private readonly child: ChildProcess,
    readonly dataDir: string,
    outputFile: WriteStream,
  ) {
    this.closed = once(child, 'close').finally(() => outputFile.end());
    let partial = '';
    for (const stream of [child.stdout!, child.stderr!])
      stream.on('data', (chunk: Buffer) => {
        outputFile.write(chunk);
        const text = chunk.toString();
        this.output = (this.output + text).slice(-OUTPUT_CHARS_KEPT_MAX);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.onLine(line);
      });
  }

  /** Starts `npm run cluster`'s script on free ports in `dataDir`; resolves once it is ready. */
  static async start(dataDir: string, jwtSecret: string): Promise<Rehearsal> {
    const env = {
      ...process.env,
      ...GATEWAY_ENV,
      CLUSTER_DATA_DIR: dataDir,
      CLUSTER_NATS_PORT: '0',
      CLUSTER_ROUTE_PORT: '0',
      PORT: '0',
      ENGINE_METRICS_PORT: '0',
      AGENT_METRICS_PORT: '0',
      CARRIER_PORT: '0',
      JWT_SECRET: jwtSecret,
    };
    const child = spawn(process.execPath, [CLUSTER_SCRIPT], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // All it says, kept beside its data: the restarts and exits are the run's evidence.
    const rehearsal = new Rehearsal(child, dataDir, createWriteStream(`${dataDir}.log`));
    try {
      await rehearsal.waitFor((line) => READY_LINE.test(line), START_TIMEOUT_MS);
    } catch (error) {
      await rehearsal.stop();
      throw error;
    }
    rehearsal.readMachines();
    return rehearsal;
  }

  machine(n: number): RehearsalMachine {
    const machine = this.machines.find((m) => m.n === n);
    if (machine === undefined) throw new Error(`the rehearsal has no machine ${n}`);
    return machine;
  }

  /**
   * SIGKILL of the machine's engine and nats-server at once, then its directory deleted: a power
   * cut and a disk lost. Its logs are moved to `keptLogsDir` first, as the evidence of the round.
   */
  loseMachine(n: number, keptLogsDir: string): MachineLoss {
    const machine = this.machine(n);
    const loss = { n, killedAt: performance.now(), ...pidsOf(machine) };
    for (const pid of [loss.enginePid, loss.natsPid]) killNow(pid);
    mkdirSync(join(keptLogsDir, '..'), { recursive: true });
    try {
      renameSync(join(machine.dir, 'logs'), keptLogsDir);
    } catch {
      // No logs to keep: the evidence is missing, the round goes on.
    }
    // Renamed away first, at once: a process SIGKILLed a moment ago may still finish a write
    // (deleting in place then fails with ENOTEMPTY), and the rehearsal makes the directory again
    // 0.5 s later. What was renamed is deleted at leisure.
    const trash = `${keptLogsDir}.data`;
    renameSync(machine.dir, trash);
    void rm(trash, { recursive: true, force: true, maxRetries: DELETE_RETRIES }).catch(() => {});
    return loss;
  }

  /**
   * Resolves once the rehearsal has restarted both processes of a machine lost, with when it said
   * so for the later of the two (performance.now()).
   */
  async machineBack(loss: MachineLoss, timeoutMs: number): Promise<number> {
    const machine = this.machine(loss.n);
    const back = () => machine.enginePid !== loss.enginePid && machine.natsPid !== loss.natsPid;
    if (!back()) await this.waitFor(back, timeoutMs);
    return Math.max(machine.engineRestartedAt, machine.natsRestartedAt);
  }

  /** The rehearsal's output so far (the newest OUTPUT_CHARS_KEPT_MAX characters). */
  text(): string {
    return this.output;
  }

  /** Ctrl-C, as a user stops it; SIGKILL past the bound. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.closed;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    const restart = RESTART_LINE.exec(line);
    if (restart !== null) {
      const machine = this.machines.find((m) => m.n === Number(restart[1]));
      const pid = Number(restart[3]);
      if (machine !== undefined && restart[2] === 'engine')
        Object.assign(machine, { enginePid: pid, engineRestartedAt: performance.now() });
      if (machine !== undefined && restart[2] === 'nats-server')
        Object.assign(machine, { natsPid: pid, natsRestartedAt: performance.now() });
    }
    for (const waiter of this.waiters) if (waiter.match(line)) waiter.resolve();
  }

  private readMachines(): void {
    for (const m of this.output.matchAll(MACHINE_LINE))
      this.machines.push({
        n: Number(m[1]),
        enginePid: Number(m[2]),
        natsPid: Number(m[3]),
        engineRestartedAt: 0,
        natsRestartedAt: 0,
        natsUrl: m[4]!,
        dir: m[5]!,
      });
    this.gatewayUrls = [...this.output.matchAll(/^gateway: (http:\/\/\S+)/gm)].map((m) => m[1]!);
    this.carrierUrl = /^fake carrier: (http:\/\/\S+)/m.exec(this.output)?.[1] ?? '';
    if (this.machines.length === 0 || this.gatewayUrls.length === 0 || this.carrierUrl === '')
      throw new Error(`the rehearsal did not print its machines and services:\n${this.output}`);
  }

  /** Resolves once `match` holds for a line printed from now on; rejects on a timeout or exit. */
  private waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (error === undefined) resolve();
        else reject(error);
      };
      const waiter: Waiter = { match, resolve: () => done() };
      const timer = setTimeout(
        () => done(new Error(`the rehearsal: nothing awaited within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.add(waiter);
      void this.closed.then(() =>
        done(new Error(`the rehearsal exited:\n${this.output.slice(-5_000)}`)),
      );
    });
  }
}

const pidsOf = (machine: RehearsalMachine) => ({
  enginePid: machine.enginePid,
  natsPid: machine.natsPid,
});

function killNow(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already (an engine that had stopped by itself): the machine is lost all the same.
  }
}
