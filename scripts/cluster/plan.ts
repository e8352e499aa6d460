import { join, resolve } from 'node:path';
import { JWT_SECRET_DEVELOPMENT } from '../../gateway/config.js';
import { freePort } from '../stack/free-port.js';
import { StartError } from '../stack/start-errors.js';

// What the cluster rehearsal (`npm run cluster`) will run, worked out from its settings before
// anything starts: three "machines", each a NATS node and an engine with a directory of their
// own, and the gateways, the agent and the carrier beside them. Every port is a base the user can
// move; 0 means free ports (the tests), chosen here so that every node knows the routes to the
// others before the first one starts.

export const MACHINES = 3;
export const CLUSTER_NAME = 'rehearsal';
/** Gateways at most: each is a node process on the same cores as everything else. */
const GATEWAYS_MAX = 16;
const PORT_MAX = 65_535;

/**
 * Away from `npm start`'s (NATS 4222, gateways 3000–3001, carrier 4000, metrics 9464–9465) and
 * from nats-server's own defaults (4222, routes 6222), so both stacks can run side by side.
 */
export const CLUSTER_DEFAULTS = {
  CLUSTER_DATA_DIR: './data/cluster',
  /** Node n's clients at CLUSTER_NATS_PORT + n − 1. */
  CLUSTER_NATS_PORT: 4232,
  /** Node n's routes at CLUSTER_ROUTE_PORT + n − 1. */
  CLUSTER_ROUTE_PORT: 6232,
  /** Gateway i at PORT + i − 1. */
  PORT: 3100,
  GATEWAYS: 2,
  /** Machine n's engine at ENGINE_METRICS_PORT + n − 1. */
  ENGINE_METRICS_PORT: 9474,
  AGENT_METRICS_PORT: 9477,
  CARRIER_PORT: 4100,
} as const;

export interface MachinePlan {
  /** 1, 2 or 3. */
  readonly n: number;
  readonly dir: string;
  readonly natsDir: string;
  readonly walDir: string;
  readonly logDir: string;
  /** The NATS node's name in the cluster, n1…n3. */
  readonly serverName: string;
  readonly natsPort: number;
  readonly routePort: number;
  /** 0: a free port, which the engine logs. */
  readonly engineMetricsPort: number;
  /** Its own node first, then the others: where its engine connects. */
  readonly natsUrls: readonly string[];
}

export interface ClusterPlan {
  readonly dataDir: string;
  /** Logs of the processes that belong to no machine (gateways, agent, carrier). */
  readonly logDir: string;
  readonly machines: readonly MachinePlan[];
  /** Every node's route URL, which every node lists. */
  readonly routes: readonly string[];
  /** 0 in the list: a free port, which the gateway tells once ready. */
  readonly gatewayPorts: readonly number[];
  /** Where the gateways listen (HOST). */
  readonly gatewayHost: string;
  readonly agentMetricsPort: number;
  readonly carrierPort: number;
  /** A real carrier for the agent (CARRIER_URL); null: the fake one. */
  readonly carrierUrl: string | null;
  readonly logLevel: string;
  readonly jwtSecret: string;
  /** The user's LEASE_TTL_MS, passed to every engine; the engine's own default when unset. */
  readonly leaseTtlMs: string | null;
}

type Env = Readonly<Record<string, string | undefined>>;

function integerSetting(env: Env, name: keyof typeof CLUSTER_DEFAULTS, min: number, max: number) {
  const text = env[name];
  if (text === undefined || text === '') return Number(CLUSTER_DEFAULTS[name]);
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new StartError(`${name}: ${JSON.stringify(text)} is not an integer in ${min}–${max}`);
  return value;
}

/** A base port setting: `count` ports from it, or `count` free ones for 0. */
async function portsFrom(env: Env, name: keyof typeof CLUSTER_DEFAULTS, count: number) {
  const base = integerSetting(env, name, 0, PORT_MAX - count + 1);
  if (base !== 0) return Array.from({ length: count }, (_, i) => base + i);
  const ports: number[] = [];
  for (let i = 0; i < count; i += 1) ports.push(await freePort());
  return ports;
}

/** Machine n's NATS list: its own node first (where it connects), the others to fail over to. */
export function natsUrlsFor(natsPorts: readonly number[], first: number): string[] {
  const urls = natsPorts.map((port) => `nats://127.0.0.1:${port}`);
  return [...urls.slice(first), ...urls.slice(0, first)];
}

export async function planCluster(env: Env = process.env): Promise<ClusterPlan> {
  const dataDir = resolve(env.CLUSTER_DATA_DIR || CLUSTER_DEFAULTS.CLUSTER_DATA_DIR);
  const gateways = integerSetting(env, 'GATEWAYS', 1, GATEWAYS_MAX);
  const natsPorts = await portsFrom(env, 'CLUSTER_NATS_PORT', MACHINES);
  const routePorts = await portsFrom(env, 'CLUSTER_ROUTE_PORT', MACHINES);
  const metricsBase = integerSetting(env, 'ENGINE_METRICS_PORT', 0, PORT_MAX - MACHINES + 1);
  const gatewayBase = integerSetting(env, 'PORT', 0, PORT_MAX - gateways + 1);
  const machines = Array.from({ length: MACHINES }, (_, i): MachinePlan => {
    const dir = join(dataDir, `machine-${i + 1}`);
    return {
      n: i + 1,
      dir,
      natsDir: join(dir, 'nats'),
      walDir: join(dir, 'wal'),
      logDir: join(dir, 'logs'),
      serverName: `n${i + 1}`,
      natsPort: natsPorts[i]!,
      routePort: routePorts[i]!,
      engineMetricsPort: metricsBase === 0 ? 0 : metricsBase + i,
      natsUrls: natsUrlsFor(natsPorts, i),
    };
  });
  return {
    dataDir,
    logDir: join(dataDir, 'logs'),
    machines,
    routes: routePorts.map((port) => `nats-route://127.0.0.1:${port}`),
    gatewayPorts: Array.from({ length: gateways }, (_, i) =>
      gatewayBase === 0 ? 0 : gatewayBase + i,
    ),
    gatewayHost: env.HOST || '127.0.0.1',
    agentMetricsPort: integerSetting(env, 'AGENT_METRICS_PORT', 0, PORT_MAX),
    carrierPort: integerSetting(env, 'CARRIER_PORT', 0, PORT_MAX),
    carrierUrl: env.CARRIER_URL || null,
    logLevel: env.LOG_LEVEL || 'info',
    jwtSecret: env.JWT_SECRET || JWT_SECRET_DEVELOPMENT,
    leaseTtlMs: env.LEASE_TTL_MS || null,
  };
}
