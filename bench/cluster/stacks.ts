import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/stack/service-process.js';
import { npmStartSettings } from '../http/npm-start-stack.js';
import { type StackGroup, stackGroups } from './stack-groups.js';
import { type StackProcess, startStackProcess } from './stack-process.js';

// The two stacks bench:cluster compares, each started as its user starts it, with nothing tuned:
// only what must not collide with anything else on this machine is set (free ports, a temporary
// data directory). Both use npm start's development JWT secret (the rehearsal's default too), so
// one pool of tokens serves both.
//   - npm start: node dist/scripts/dev-stack.js: a nats-server, the engine, two gateways, the
//     agent and the carrier (as bench:http's npm start row starts it);
//   - the rehearsal: node dist/scripts/cluster.js: three clustered nats-servers, three engines
//     (one per "machine"), two gateways, the agent and the carrier, each sale's log on 3 replicas.

export type StackName = 'npm start' | 'rehearsal';

export interface BenchStack {
  readonly name: StackName;
  readonly gatewayUrls: readonly string[];
  readonly engineMetricsUrls: readonly string[];
  readonly natsUrls: readonly string[];
  /** Every process of the stack, one group each. */
  readonly processes: readonly StackGroup[];
  stop(): Promise<void>;
}

const GATEWAY_LINE = /^gateway: (http:\/\/\S+) \(pid (\d+)\)/gm;
const NPM_START_READY = /Ctrl-C stops the stack/;
const NPM_START_METRICS = /^engine metrics: (http:\/\/\S+)/m;
const REHEARSAL_READY = /Ctrl-C stops the rehearsal/;
const REHEARSAL_MACHINE =
  /^machine (\d): engine pid (\d+), nats pid (\d+), nats (nats:\/\/[^\s,]+)/gm;
const REHEARSAL_METRICS = /^machine \d: engine metrics (http:\/\/\S+)/gm;

function gatewaysOf(welcome: string, names: Map<number, string>): string[] {
  return [...welcome.matchAll(GATEWAY_LINE)].map((m, i) => {
    names.set(Number(m[2]), String(i + 1));
    return m[1]!;
  });
}

function stackOf(
  name: StackName,
  started: StackProcess,
  found: Omit<BenchStack, 'name' | 'processes' | 'stop'>,
  names: ReadonlyMap<number, string>,
): BenchStack {
  if (found.gatewayUrls.length === 0 || found.engineMetricsUrls.length === 0)
    throw new Error(`${name}: no gateway or engine in what it printed:\n${started.welcome}`);
  return {
    name,
    ...found,
    processes: stackGroups(started.child.pid!, names),
    stop: started.stop,
  };
}

export async function startNpmStart(): Promise<BenchStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-cluster-npm-start-'));
  const env = await npmStartSettings(dataDir);
  const started = await startStackProcess({
    script: join(PROJECT_ROOT, 'dist/scripts/dev-stack.js'),
    env,
    readyLine: NPM_START_READY,
    dataDir,
  });
  try {
    const names = new Map<number, string>();
    const gatewayUrls = gatewaysOf(started.welcome, names);
    const metrics = NPM_START_METRICS.exec(started.welcome)?.[1];
    const found = {
      gatewayUrls,
      engineMetricsUrls: metrics === undefined ? [] : [metrics],
      natsUrls: [env.NATS_URL!],
    };
    return stackOf('npm start', started, found, names);
  } catch (error) {
    await started.stop();
    throw error;
  }
}

export async function startRehearsal(): Promise<BenchStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-cluster-rehearsal-'));
  const free = '0';
  const started = await startStackProcess({
    script: join(PROJECT_ROOT, 'dist/scripts/cluster.js'),
    env: {
      CLUSTER_DATA_DIR: dataDir,
      CLUSTER_NATS_PORT: free,
      CLUSTER_ROUTE_PORT: free,
      PORT: free,
      ENGINE_METRICS_PORT: free,
      AGENT_METRICS_PORT: free,
      CARRIER_PORT: free,
    },
    readyLine: REHEARSAL_READY,
    dataDir,
  });
  try {
    const names = new Map<number, string>();
    const gatewayUrls = gatewaysOf(started.welcome, names);
    const natsUrls: string[] = [];
    for (const m of started.welcome.matchAll(REHEARSAL_MACHINE)) {
      names.set(Number(m[2]), `machine-${m[1]}`);
      names.set(Number(m[3]), `n${m[1]}`);
      natsUrls.push(m[4]!);
    }
    const engineMetricsUrls = [...started.welcome.matchAll(REHEARSAL_METRICS)].map((m) => m[1]!);
    return stackOf('rehearsal', started, { gatewayUrls, engineMetricsUrls, natsUrls }, names);
  } catch (error) {
    await started.stop();
    throw error;
  }
}
