import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EngineProcess } from '../stack/engine-process.js';
import { runnable } from '../stack/executable.js';
import type { StackLifecycle } from '../stack/lifecycle.js';
import {
  NATS_SERVER_BINARY,
  NATS_SERVER_INSTALL_HINT,
  type NatsServerProcess,
} from '../stack/nats-server.js';
import { portInUse, StartError } from '../stack/start-errors.js';
import { startNode } from './nats-nodes.js';
import type { ClusterPlan, MachinePlan } from './plan.js';

// The rehearsal's "machines": what production runs on each of three hosts — a NATS node and an
// engine — with a directory of their own (machine-<n>/{nats,wal,logs}), so that losing a machine
// means losing exactly those two processes and that directory.

/** Every stream and KV bucket the engines create is stored on all three nodes. */
export const CLUSTER_REPLICAS = 3;
/**
 * The engine's own default in a cluster (CLUSTER_LEASE_TTL_MS_DEFAULT in engine/shell/config.ts,
 * which the tools may not import): the rehearsal runs what production would. A SIGKILLed
 * rehearsal's engines take their leases back at once on the next start (same WAL, same host,
 * process gone).
 */
const LEASE_TTL_MS_ENGINE_DEFAULT = 5_000;

export interface Machine {
  readonly plan: MachinePlan;
  readonly nats: NatsServerProcess;
  engine: EngineProcess | null;
}

export function makeDirectories(plan: ClusterPlan): void {
  mkdirSync(plan.logDir, { recursive: true });
  for (const machine of plan.machines) mkdirSync(machine.logDir, { recursive: true });
}

/** The three NATS nodes, side by side (each keeps routing to the others until they are up). */
export async function startNodes(plan: ClusterPlan, stack: StackLifecycle): Promise<Machine[]> {
  if (!runnable(NATS_SERVER_BINARY))
    throw new StartError(
      `there is no \`${NATS_SERVER_BINARY}\` to run the cluster's nodes: ${NATS_SERVER_INSTALL_HINT}`,
    );
  stack.checkNotStopping();
  const portSettings = 'CLUSTER_NATS_PORT and CLUSTER_ROUTE_PORT';
  return Promise.all(
    plan.machines.map(async (machine) => {
      const nats = await stack
        .ownNats(startNode(plan, machine))
        .catch(portInUse(`machine ${machine.n}'s nats-server`, portSettings));
      return { plan: machine, nats, engine: null };
    }),
  );
}

function engineOptions(plan: ClusterPlan, machine: MachinePlan, logName: string) {
  return {
    natsUrl: machine.natsUrls.join(','),
    walDir: machine.walDir,
    // None pinned: every sale, the demo too, is placed by the pool, as failover will move it.
    sales: [],
    leaseTtlMs: Number(plan.leaseTtlMs ?? LEASE_TTL_MS_ENGINE_DEFAULT),
    ownProcessGroup: true,
    logFile: join(machine.logDir, logName),
    env: {
      ENGINE_ID: `machine-${machine.n}`,
      JETSTREAM_REPLICAS: String(CLUSTER_REPLICAS),
      ENGINE_METRICS_PORT: String(machine.engineMetricsPort),
      LOG_LEVEL: plan.logLevel,
    },
  };
}

function spawnEngine(plan: ClusterPlan, machine: MachinePlan): Promise<EngineProcess> {
  return EngineProcess.start(engineOptions(plan, machine, 'engine.log')).catch(
    portInUse(`machine ${machine.n}'s engine`, 'ENGINE_METRICS_PORT'),
  );
}

/**
 * The machine's engine again, same name, ports and directory, without waiting for it to serve
 * (the caller watches it). Each restart logs to a file of its own (engine.restart-<k>.log): the
 * run before a crash is the evidence, and one `.previous` would keep only the last.
 */
export function respawnEngine(plan: ClusterPlan, machine: MachinePlan, restart: number) {
  mkdirSync(machine.logDir, { recursive: true });
  return EngineProcess.spawn(engineOptions(plan, machine, `engine.restart-${restart}.log`));
}

/**
 * Machine 1's engine first: it creates ORDERS and the buckets with 3 replicas, as the first
 * machine of a deployment would; the other two then find them and start side by side.
 */
export async function startEngines(
  plan: ClusterPlan,
  machines: readonly Machine[],
  stack: StackLifecycle,
): Promise<void> {
  const [first, ...others] = machines;
  for (const group of [[first!], others]) {
    stack.checkNotStopping();
    await Promise.all(
      group.map(async (machine) => {
        machine.engine = await spawnEngine(plan, machine.plan);
      }),
    );
  }
}
