import { resolve } from 'node:path';
import t from 'tap';
import { CLUSTER_DEFAULTS, planCluster } from '../scripts/cluster/plan.js';
import { StartError } from '../scripts/stack/start-errors.js';

// What `npm run cluster` will run, from its settings, before anything starts: the defaults keep
// clear of `npm start`'s ports, each machine connects to its own node first, 0 means free ports
// (all different), and a bad value is refused with the setting's name.

const NPM_START_PORTS = [3000, 3001, 4000, 4222, 6222, 9464, 9465];

t.test('the defaults: three machines on ports of their own, away from npm start', async (t) => {
  const plan = await planCluster({});
  t.equal(plan.dataDir, resolve(CLUSTER_DEFAULTS.CLUSTER_DATA_DIR));
  t.same(
    plan.machines.map((m) => [m.serverName, m.natsPort, m.routePort, m.engineMetricsPort]),
    [
      ['n1', 4232, 6232, 9474],
      ['n2', 4233, 6233, 9475],
      ['n3', 4234, 6234, 9476],
    ],
  );
  t.same(plan.machines[1]!.natsUrls, [
    'nats://127.0.0.1:4233',
    'nats://127.0.0.1:4234',
    'nats://127.0.0.1:4232',
  ]);
  t.same(
    plan.routes,
    [6232, 6233, 6234].map((port) => `nats-route://127.0.0.1:${port}`),
  );
  t.same(plan.gatewayPorts, [3100, 3101], 'two gateways from PORT');
  t.match(plan.machines[2]!, { dir: resolve('data/cluster/machine-3') });
  t.match(plan.machines[2]!.walDir, /machine-3\/wal$/);
  const used = [
    ...plan.machines.flatMap((m) => [m.natsPort, m.routePort, m.engineMetricsPort]),
    ...plan.gatewayPorts,
    plan.agentMetricsPort,
    plan.carrierPort,
  ];
  t.equal(new Set(used).size, used.length, 'no port twice');
  t.same(
    used.filter((port) => NPM_START_PORTS.includes(port)),
    [],
    "none of npm start's",
  );
  t.equal(plan.leaseTtlMs, null, "the engine's own lease TTL unless LEASE_TTL_MS is set");
});

t.test('0: free ports, all different; bases and counts as set', async (t) => {
  const free = await planCluster({ CLUSTER_NATS_PORT: '0', CLUSTER_ROUTE_PORT: '0', PORT: '0' });
  const ports = free.machines.flatMap((m) => [m.natsPort, m.routePort]);
  t.ok(
    ports.every((port) => port > 0),
    'real ports for the nodes (each must know the others)',
  );
  t.equal(new Set(ports).size, 6, 'six different ones');
  t.same(free.gatewayPorts, [0, 0], 'gateways take theirs when they listen');
  const set = await planCluster({ PORT: '8000', GATEWAYS: '3', CLUSTER_DATA_DIR: '/tmp/x' });
  t.same(set.gatewayPorts, [8000, 8001, 8002]);
  t.equal(set.machines[0]!.dir, '/tmp/x/machine-1');
});

t.test('a bad value is refused, naming the setting', async (t) => {
  for (const [name, value] of [
    ['GATEWAYS', '0'],
    ['GATEWAYS', 'two'],
    ['CLUSTER_NATS_PORT', '65534'],
    ['PORT', '-1'],
  ] as const) {
    const error = await planCluster({ [name]: value }).catch((e: unknown) => e);
    t.ok(error instanceof StartError, `${name}=${value}: refused in one line`);
    t.match(String((error as Error).message), `${name}: "${value}" is not an integer`);
  }
});
