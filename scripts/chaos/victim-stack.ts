import { join } from 'node:path';
import { AgentProcess, FAST_AGENT_ENV } from '../stack/agent-process.js';
import { CarrierProcess } from '../stack/carrier-process.js';
import { EngineProcess } from '../stack/engine-process.js';
import { GatewayProcess } from '../stack/gateway-process.js';
import { NatsServerProcess } from '../stack/nats-server.js';
import type { ServiceProcess } from '../stack/service-process.js';

// The whole stack as real processes for the chaos run — a private nats-server with its store, the
// engine with its WAL, two gateways, one shipping agent and the fake carrier — with every part
// but the carrier killable (SIGKILL) and restartable on the same store, WAL and port, so clients
// and the other processes find it again. The carrier stays up: its book of shipments is what the
// audit reads.

export const CHAOS_TARGETS = ['engine', 'gateway-a', 'gateway-b', 'agent', 'nats'] as const;
export type ChaosTarget = (typeof CHAOS_TARGETS)[number];

/**
 * Gateway settings for chaos. The rate limit and the event-loop shedding are tested elsewhere;
 * here they would only turn the clients' quick retries (429) and the lag of processes restarting
 * on a small machine (503 OVERLOADED) into noise. The engine timeout is short so that requests a
 * killed engine will never answer come back as 503 soon, for the client to retry.
 */
const CHAOS_GATEWAY_ENV: Readonly<Record<string, string>> = {
  RATE_LIMIT_MAX: '100000',
  EVENT_LOOP_DELAY_MS_MAX: '0',
  ENGINE_REQUEST_TIMEOUT_MS: '1000',
  // A SIGKILL is the point; a SIGTERM at the end of the run has nothing left to finish.
  SHUTDOWN_GRACE_MS: '1000',
};

/**
 * The production shape with short waits (as the shipping tests use), so that a delivery lost with
 * a killed agent comes back within seconds and a run settles soon after its last round.
 */
const CHAOS_AGENT_ENV: Readonly<Record<string, string>> = {
  ...FAST_AGENT_ENV,
  // Few deliveries, so that a carrier outage of a few seconds dead-letters some orders.
  SHIPPING_MAX_DELIVER: '8',
  SHUTDOWN_GRACE_MS: '2000',
};

/**
 * A carrier that is slow and flaky but not down: failures and lost replies (shipment made, answer
 * 500) make the agent retry, which is where a duplicate shipment would come from.
 */
const CHAOS_CARRIER_ENV: Readonly<Record<string, string>> = {
  CARRIER_LATENCY_MS_MAX: '50',
  CARRIER_FAILURE_RATE: '0.1',
  CARRIER_LOST_REPLY_RATE: '0.05',
};

/** Snapshots every few hundred records, so engine kills also land around snapshots. */
const CHAOS_SNAPSHOT_EVERY_RECORDS = '300';

export interface VictimStackOptions {
  /** A private directory: the NATS store and the WAL go under it. */
  readonly dir: string;
  /** Every sale the run will use (the engine must own them from the start). */
  readonly sales: readonly string[];
  readonly jwtSecret: string;
}

export class VictimStack {
  /** Processes that died without being killed by the run, as "<target>: <how>". */
  readonly crashes: string[] = [];
  private readonly killing = new Set<ServiceProcess>();
  private readonly services = new Map<Exclude<ChaosTarget, 'nats'>, ServiceProcess>();
  private gatewayPorts: number[] = [];
  private stopped = false;
  private readonly gatewaysStarting = new Set<Promise<GatewayProcess>>();

  private constructor(
    private readonly options: VictimStackOptions,
    readonly nats: NatsServerProcess,
    readonly carrier: CarrierProcess,
  ) {}

  static async start(options: VictimStackOptions): Promise<VictimStack> {
    const nats = await NatsServerProcess.start({ storeDir: join(options.dir, 'nats') });
    let carrier: CarrierProcess | null = null;
    try {
      carrier = await CarrierProcess.start({ env: CHAOS_CARRIER_ENV });
      const stack = new VictimStack(options, nats, carrier);
      try {
        await stack.restart('engine');
        const gateways = await Promise.all([
          stack.startGateway('gateway-a', 0),
          stack.startGateway('gateway-b', 0),
        ]);
        stack.gatewayPorts = gateways.map((g) => g.port);
        await stack.restart('agent');
      } catch (error) {
        await stack.stop();
        throw error;
      }
      return stack;
    } catch (error) {
      await carrier?.kill();
      await nats.stop();
      throw error;
    }
  }

  get natsUrl(): string {
    return this.nats.url;
  }

  /** The gateways' base URLs; the same after a gateway's restart (same port). */
  get gatewayUrls(): string[] {
    return this.gatewayPorts.map((port) => `http://127.0.0.1:${port}`);
  }

  async kill(target: ChaosTarget): Promise<void> {
    if (target === 'nats') return this.nats.kill();
    const service = this.services.get(target);
    if (service === undefined) return;
    this.killing.add(service);
    await service.kill('SIGKILL');
    this.services.delete(target);
  }

  /** Starts the target again (same WAL, store or port) and waits until it serves. */
  async restart(target: ChaosTarget): Promise<void> {
    // A round still running after an abort must not start what stop() would never see.
    if (this.stopped) throw new Error(`not restarting ${target}: the stack is stopped`);
    if (target === 'nats') return this.nats.restart();
    if (target === 'engine') {
      const engine = EngineProcess.spawn({
        natsUrl: this.nats.url,
        walDir: join(this.options.dir, 'wal'),
        sales: this.options.sales,
        env: { SNAPSHOT_EVERY_RECORDS: CHAOS_SNAPSHOT_EVERY_RECORDS },
      });
      this.watch(target, engine);
      await engine.serving();
      return;
    }
    if (target === 'agent') {
      const agent = AgentProcess.spawn({
        natsUrl: this.nats.url,
        carrierUrl: this.carrier.url,
        env: CHAOS_AGENT_ENV,
      });
      this.watch(target, agent);
      await agent.pulling();
      return;
    }
    const index = target === 'gateway-a' ? 0 : 1;
    await this.startGateway(target, this.gatewayPorts[index]!);
  }

  /** Restarts whatever died on its own since the last call; answers their names. */
  async reviveCrashed(): Promise<ChaosTarget[]> {
    const down = CHAOS_TARGETS.filter((target) =>
      target === 'nats' ? this.nats.pid === undefined : !this.services.has(target),
    );
    for (const target of down) {
      if (target === 'nats') this.crashes.push('nats: exited on its own');
      await this.restart(target);
    }
    return down;
  }

  /** SIGTERM to every process, NATS last. */
  async stop(): Promise<void> {
    this.stopped = true;
    const services = [...this.services.values()];
    for (const service of services) this.killing.add(service);
    this.services.clear();
    await Promise.all([
      ...services.map((s) => s.kill('SIGTERM')),
      ...[...this.gatewaysStarting].map((starting) => starting.catch(() => undefined)),
      this.carrier.kill('SIGTERM'),
    ]);
    await this.nats.stop();
  }

  /** Its process is ours only once it listens: stop() waits for the start meanwhile. */
  private startGateway(target: 'gateway-a' | 'gateway-b', port: number): Promise<GatewayProcess> {
    const started = this.launchGateway(target, port);
    this.gatewaysStarting.add(started);
    started.finally(() => this.gatewaysStarting.delete(started)).catch(() => undefined); // the caller hears of a failure
    return started;
  }

  private async launchGateway(
    target: 'gateway-a' | 'gateway-b',
    port: number,
  ): Promise<GatewayProcess> {
    const gateway = await GatewayProcess.start({
      natsUrl: this.nats.url,
      jwtSecret: this.options.jwtSecret,
      port,
      env: CHAOS_GATEWAY_ENV,
    });
    this.watch(target, gateway);
    if (this.stopped) {
      this.killing.add(gateway);
      await gateway.kill('SIGTERM');
      throw new Error(`${target} started after the stack stopped`);
    }
    return gateway;
  }

  /** Keeps the process as the target's current one and notices if it dies unasked. */
  private watch(target: Exclude<ChaosTarget, 'nats'>, service: ServiceProcess): void {
    this.services.set(target, service);
    void service.exited.then(({ code, signal }) => {
      if (this.killing.delete(service)) return;
      this.crashes.push(`${target}: exited on its own (${code ?? signal})`);
      if (this.services.get(target) === service) this.services.delete(target);
    });
  }
}
