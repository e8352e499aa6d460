import type { NatsConnection } from '@nats-io/transport-node';
import { mintToken } from './client/tokens.js';
import { DEMO_SALE, type DemoSale, ensureDemoSale } from './cluster/demo-sale.js';
import {
  CLUSTER_REPLICAS,
  type Machine,
  makeDirectories,
  startEngines,
  startNodes,
} from './cluster/machines.js';
import { connectCluster, waitForJetStream } from './cluster/nats-nodes.js';
import { type ClusterPlan, planCluster } from './cluster/plan.js';
import { startAgent, startCarrier, startGateways } from './cluster/services.js';
import { watchCluster } from './cluster/watch.js';
import type { AgentProcess } from './stack/agent-process.js';
import type { CarrierProcess } from './stack/carrier-process.js';
import type { GatewayProcess } from './stack/gateway-process.js';
import { StackLifecycle } from './stack/lifecycle.js';

// `npm run cluster`: the cluster rehearsal. On one machine, what production spreads over three:
// three clustered nats-server nodes on loopback (JetStream, every stream and bucket with 3
// replicas), three engines each with a directory of its own (each standing for a machine), the
// gateways, the shipping agent and the fake carrier, every one of them given all three nodes.
// It prints one line per machine, the gateways and tokens, creates the demo sale through the API,
// and stops everything on Ctrl-C / SIGTERM as `npm start` does (stack/lifecycle.ts). A process
// that dies is reported and the rest runs on: a lost machine is what the rehearsal is for, and its
// engine and nats-server are started again as production's `restart: unless-stopped` would.

/**
 * Eleven processes stop in turn, newest first; on two busy cores that takes about two seconds.
 * Past the budget what is left is SIGKILLed; an engine cut short loses nothing it acknowledged.
 */
const STOP_BUDGET_MS = 4_500;
const LAUNCHER_POLL_INTERVAL_MS = 250;

const stack = new StackLifecycle({
  name: 'npm run cluster',
  stopBudgetMs: STOP_BUDGET_MS,
  launcherPollIntervalMs: LAUNCHER_POLL_INTERVAL_MS,
});

interface Started {
  readonly machines: readonly Machine[];
  readonly carrier: CarrierProcess;
  readonly agent: AgentProcess;
  readonly gateways: readonly GatewayProcess[];
}

async function startCluster(plan: ClusterPlan): Promise<Started & { nc: NatsConnection }> {
  makeDirectories(plan);
  console.log(`logs: <machine>/logs/*.log and ${plan.logDir} (LOG_LEVEL=${plan.logLevel})`);
  const machines = await startNodes(plan, stack);
  console.log(
    `nats: ${machines.length} nodes up, waiting for JetStream (3 replicas placeable, every stream led)…`,
  );
  const nc = stack.useConnection(await connectCluster(machines.map((m) => m.nats.url)));
  await waitForJetStream(nc, () => stack.isStopping);
  await startEngines(plan, machines, stack);
  const carrier = await startCarrier(plan, stack);
  const agent = await startAgent(plan, carrier, stack);
  const gateways = await startGateways(plan, stack);
  stack.checkNotStopping();
  return { machines, carrier, agent, gateways, nc };
}

async function printMachines(machines: readonly Machine[]): Promise<void> {
  for (const { plan, nats, engine } of machines)
    console.log(
      `machine ${plan.n}: engine pid ${engine?.pid}, nats pid ${nats.pid}, nats ${nats.url}, ` +
        `data ${plan.dir}`,
    );
  for (const { plan, engine } of machines) {
    if (engine === null) continue;
    const { metricsPort } = await engine.ready();
    console.log(`machine ${plan.n}: engine metrics http://127.0.0.1:${metricsPort}/metrics`);
  }
}

function printServices({ carrier, agent, gateways }: Started): void {
  console.log(`fake carrier: ${carrier.url} (pid ${carrier.pid})`);
  console.log(`shipping agent (pid ${agent.pid})`);
  for (const gateway of gateways) console.log(`gateway: ${gateway.url} (pid ${gateway.pid})`);
}

function printDemo(demo: DemoSale): void {
  const how = demo.created ? 'created through PUT /v1/admin/sales/demo' : 'already there';
  console.log(`demo sale "${DEMO_SALE}" ${how}, placed on ${demo.engineId ?? '(unknown)'}`);
  console.log('sale:', JSON.stringify(demo.sale));
}

function printWelcome(plan: ClusterPlan, gatewayUrl: string, tokens: Tokens): void {
  console.log(`
live page (demo customer signed in):
  ${gatewayUrl}/?sale=${DEMO_SALE}#token=${tokens.customer}

demo customer token:
  ${tokens.customer}
admin token:
  ${tokens.admin}

place an order:
  curl -s -X POST ${gatewayUrl}/v1/sales/${DEMO_SALE}/orders \\
    -H "authorization: Bearer ${tokens.customer}" \\
    -H 'content-type: application/json' -H "idempotency-key: $(date +%s%N)" -d '{"quantity":1}'

streams and buckets: ${CLUSTER_REPLICAS} replicas; data: ${plan.dataDir} (delete it to start afresh)

Ctrl-C stops the rehearsal; run \`npm run cluster\` again and the orders are still there.`);
}

interface Tokens {
  readonly customer: string;
  readonly admin: string;
}

async function main(): Promise<never> {
  stack.installHandlers();
  try {
    const plan = await planCluster();
    const started = await startCluster(plan);
    const tokens = {
      customer: mintToken(plan.jwtSecret, { sub: 'demo-customer' }),
      admin: mintToken(plan.jwtSecret, { sub: 'demo-admin', role: 'admin' }),
    };
    const gatewayUrl = started.gateways[0]!.url;
    const demo = await ensureDemoSale(started.nc, gatewayUrl, tokens.admin);
    stack.checkNotStopping();
    await printMachines(started.machines);
    printServices(started);
    printDemo(demo);
    printWelcome(plan, gatewayUrl, tokens);
    watchCluster(
      plan,
      {
        machines: started.machines,
        gateways: started.gateways,
        others: [
          { who: 'shipping agent', process: started.agent },
          { who: 'fake carrier', process: started.carrier },
        ],
      },
      stack,
    );
    return await new Promise<never>(() => {});
  } catch (error) {
    return stack.startFailed(error);
  }
}

await main();
