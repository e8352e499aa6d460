import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { EngineClient } from './client/engine-client.js';
import { mintToken } from './client/tokens.js';
import { AgentProcess } from './stack/agent-process.js';
import { CarrierProcess } from './stack/carrier-process.js';
import { EngineProcess } from './stack/engine-process.js';
import { runnable } from './stack/executable.js';
import { GatewayProcess } from './stack/gateway-process.js';
import { exitOf, natsExitOf, type StackExit, StackLifecycle } from './stack/lifecycle.js';
import {
  NATS_SERVER_BINARY,
  NATS_SERVER_INSTALL_HINT,
  NatsServerProcess,
} from './stack/nats-server.js';
import { yieldToOrders } from './stack/process-priority.js';
import { messageOf, portInUse, StartError } from './stack/start-errors.js';

// `npm start`: the whole stack that exists so far on one machine. Uses the NATS at NATS_URL when
// one answers, else starts a local `nats-server -js` with its store beside WAL_DIR; runs the
// engine, two gateways (PORT, PORT+1), the shipping agent and a fake carrier; creates the demo
// sale on first run; prints the live page's address with a demo customer's token. The data
// survives a restart as long as WAL_DIR is kept.
//
// Whatever happens — a failed start, Ctrl-C, SIGTERM or a closed terminal at any moment, a child
// dying, npm killed under us — this script stops everything it started, in reverse order, within
// STOP_BUDGET_MS (stack/lifecycle.ts).
//
// Each child's output goes to a file of its own under data/logs (beside WAL_DIR), which this
// script never reads: at LOG_LEVEL=info a gateway logs per request, and parsing that here cost
// the stack its speed. Each child says over IPC when it is ready, at any LOG_LEVEL.

const NATS_PROBE_TIMEOUT_MS = 1_000;
/**
 * From a stop request to the last process gone, SIGKILL for whatever is left at the end: nothing
 * `npm start` started may outlive it by 5 s (DESIGN.md), and before the stop may come up to
 * LAUNCHER_POLL_INTERVAL_MS of noticing npm gone, after it the exit. Enough for the ordered stop,
 * which takes under a second: the gateways finish their requests, the agent hands its deliveries
 * back at once, and cutting the engine short loses nothing (its WAL is fsynced before every ack).
 */
const STOP_BUDGET_MS = 3_500;
/** How often we look whether npm (or whoever launched us) is still there. */
const LAUNCHER_POLL_INTERVAL_MS = 250;
/** The dev engine's lease: short, so a restarted `npm start` takes its sales back quickly. */
const LEASE_TTL_MS_DEV = 3_000;
const ENGINE_METRICS_PORT_DEFAULT = 9464;
const GATEWAY_PORT_DEFAULT = 3000;
const CARRIER_PORT_DEFAULT = 4000;
const AGENT_METRICS_PORT_DEFAULT = 9465;
const gatewayCount = Number(process.env.GATEWAYS ?? 2);
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const walDir = resolve(process.env.WAL_DIR ?? './data/wal');
const sales = (process.env.ENGINE_SALES ?? 'demo').split(',');
const demoSale = sales[0]!;
const jwtSecret = process.env.JWT_SECRET ?? JWT_SECRET_DEVELOPMENT;
const logLevel = process.env.LOG_LEVEL ?? 'info';
const engineMetricsPort = process.env.ENGINE_METRICS_PORT ?? String(ENGINE_METRICS_PORT_DEFAULT);
/** One log file per process, beside the WAL and NATS's store. */
const logDir = join(dirname(walDir), 'logs');
const logFile = (name: string) => join(logDir, `${name}.log`);

const stack = new StackLifecycle({
  name: 'npm start',
  stopBudgetMs: STOP_BUDGET_MS,
  launcherPollIntervalMs: LAUNCHER_POLL_INTERVAL_MS,
});
/** Our own nats-server, once started (null while none, or when NATS_URL already answered). */
let ownNats: NatsServerProcess | null = null;

// ---- starting -----------------------------------------------------------------------------

async function probe(url: string): Promise<NatsConnection | null> {
  try {
    return await connect({
      servers: url,
      timeout: NATS_PROBE_TIMEOUT_MS,
      maxReconnectAttempts: -1,
    });
  } catch {
    return null;
  }
}

/** Connects to the NATS at NATS_URL, starting our own nats-server there when none answers. */
async function connectNats(): Promise<NatsConnection> {
  const existing = await probe(natsUrl);
  if (existing !== null) {
    console.log(`using the NATS server at ${natsUrl}`);
    return existing;
  }
  if (!runnable(NATS_SERVER_BINARY))
    throw new StartError(
      `no NATS answers at ${natsUrl} and there is no \`${NATS_SERVER_BINARY}\` to start one: ` +
        `${NATS_SERVER_INSTALL_HINT}, or NATS_URL to a NATS with JetStream`,
    );
  stack.checkNotStopping();
  const port = Number(new URL(natsUrl).port || 4222);
  const storeDir = join(dirname(walDir), 'nats');
  ownNats = await stack.ownNats(
    NatsServerProcess.start({
      port,
      storeDir,
      ownProcessGroup: true,
      logFile: logFile('nats-server'),
    }),
  );
  console.log(`started nats-server -js on ${ownNats.url} (pid ${ownNats.pid}, store ${storeDir})`);
  const connection = await probe(ownNats.url);
  if (connection === null)
    throw new StartError(`nats-server started but ${ownNats.url} does not answer`);
  return connection;
}

/** The engine's refusal when the NATS keeps leases for another TTL, with the way out. */
function leaseTtlHint(message: string): string | null {
  const match = /lease bucket \S+ expires keys after (\d+) ms but LEASE_TTL_MS is (\d+)/.exec(
    message,
  );
  if (match === null) return null;
  return (
    `the NATS at ${natsUrl} keeps sale leases for ${match[1]} ms (an engine with that ` +
    `LEASE_TTL_MS made the bucket) and every engine on it must agree: run ` +
    `\`LEASE_TTL_MS=${match[1]} npm start\``
  );
}

async function startEngine(): Promise<EngineProcess> {
  stack.checkNotStopping();
  // A new WAL directory means a new demo. A NATS that outlived an earlier one (a shared server, a
  // kept store) still names that earlier WAL as the demo sale's home, and the engine would refuse
  // the sale (sale-homes.ts): here, unlike in production, starting it anew is what is wanted.
  const newWal = !existsSync(join(walDir, 'identity.json'));
  const engine = await EngineProcess.start({
    natsUrl,
    walDir,
    sales,
    ownProcessGroup: true,
    logFile: logFile('engine'),
    env: {
      LOG_LEVEL: logLevel,
      ENGINE_SALES: sales.join(','),
      // The user's value when set: the NATS's lease bucket may have been made with another one.
      LEASE_TTL_MS: process.env.LEASE_TTL_MS ?? String(LEASE_TTL_MS_DEV),
      ENGINE_METRICS_PORT: engineMetricsPort,
      ...(newWal ? { ENGINE_SALES_ADOPT: sales.join(',') } : {}),
    },
  })
    .catch((error: unknown) => {
      const hint = leaseTtlHint(messageOf(error));
      throw hint === null ? error : new StartError(`the engine refused to start: ${hint}`);
    })
    .catch(portInUse('the engine', 'ENGINE_METRICS_PORT'));
  console.log(`engine serving ${sales.join(', ')} (pid ${engine.pid}, WAL ${walDir})`);
  if (newWal)
    console.log(
      `a new WAL: ${sales.join(', ')} start(s) afresh here, whatever this NATS remembers`,
    );
  const { metricsPort } = await engine.ready();
  console.log(`engine metrics: http://127.0.0.1:${metricsPort}/metrics (what it serves: /health)`);
  return engine;
}

// The fake carrier stands in for the real one: CARRIER_FAILURE_RATE, CARRIER_LATENCY_MS_MAX, …
// (see the README) make it misbehave, so the live page shows delays and retries.
async function startCarrier(): Promise<CarrierProcess> {
  stack.checkNotStopping();
  const carrier = await CarrierProcess.start({
    ownProcessGroup: true,
    logFile: logFile('fake-carrier'),
    env: {
      CARRIER_PORT: process.env.CARRIER_PORT ?? String(CARRIER_PORT_DEFAULT),
      CARRIER_HOST: '127.0.0.1',
      LOG_LEVEL: logLevel,
    },
  }).catch(portInUse('the fake carrier', 'CARRIER_PORT'));
  console.log(`fake carrier: ${carrier.url} (pid ${carrier.pid})`);
  yieldToOrders(carrier);
  return carrier;
}

async function startAgent(carrier: CarrierProcess): Promise<AgentProcess> {
  stack.checkNotStopping();
  const agent = await AgentProcess.start({
    natsUrl,
    carrierUrl: process.env.CARRIER_URL ?? carrier.url,
    ownProcessGroup: true,
    logFile: logFile('shipping-agent'),
    env: {
      LOG_LEVEL: logLevel,
      AGENT_METRICS_PORT: process.env.AGENT_METRICS_PORT ?? String(AGENT_METRICS_PORT_DEFAULT),
    },
  }).catch(portInUse('the shipping agent', 'AGENT_METRICS_PORT'));
  console.log(`shipping agent pulling (pid ${agent.pid}, metrics :${await agent.metricsPort()})`);
  yieldToOrders(agent);
  return agent;
}

async function startGateways(): Promise<GatewayProcess[]> {
  stack.checkNotStopping();
  const firstPort = Number(process.env.PORT ?? GATEWAY_PORT_DEFAULT);
  return Promise.all(
    Array.from({ length: gatewayCount }, (_, i) =>
      GatewayProcess.start({
        natsUrl,
        jwtSecret,
        port: firstPort + i,
        ownProcessGroup: true,
        logFile: logFile(`gateway-${i + 1}`),
        env: {
          LOG_LEVEL: logLevel,
          HOST: process.env.HOST ?? '127.0.0.1',
          GATEWAY_ID: `gateway-${i + 1}`,
        },
      }).catch(portInUse(`gateway ${i + 1}`, 'PORT (gateways listen on PORT, PORT+1, …)')),
    ),
  );
}

async function ensureDemoSale(connection: NatsConnection): Promise<void> {
  const client = new EngineClient(connection);
  const existing = await client.query(demoSale, { type: 'GetSale' });
  if (!existing.ok) {
    await client.configureSale(demoSale, {
      name: 'Demo flash sale',
      stock: 100,
      perCustomerLimit: 2,
    });
    console.log(`created the demo sale "${demoSale}": 100 units, at most 2 per customer`);
  }
  console.log('sale:', JSON.stringify(await client.sale(demoSale)));
}

function printWelcome(gateways: readonly GatewayProcess[]): void {
  const customerToken = mintToken(jwtSecret, { sub: 'demo-customer' });
  const adminToken = mintToken(jwtSecret, { sub: 'demo-admin', role: 'admin' });
  for (const gateway of gateways) console.log(`gateway: ${gateway.url} (pid ${gateway.pid})`);
  console.log(`
live page (demo customer signed in):
  ${gateways[0]!.url}/?sale=${demoSale}#token=${customerToken}

demo customer token:
  ${customerToken}
admin token:
  ${adminToken}

place an order:
  curl -s -X POST ${gateways[0]!.url}/v1/sales/${demoSale}/orders \\
    -H "authorization: Bearer ${customerToken}" \\
    -H 'content-type: application/json' -H "idempotency-key: $(date +%s%N)" -d '{"quantity":1}'

logs (LOG_LEVEL=${logLevel}), one file per process:
  tail -f ${logFile('gateway-1')}

Ctrl-C stops the stack; run \`npm start\` again and the orders are still there.`);
}

// ---- running ----------------------------------------------------------------------------

/** Resolves when our own nats-server has exited (never when NATS_URL was someone else's). */
function natsExit(): Promise<StackExit> {
  if (ownNats === null) return new Promise(() => {});
  return natsExitOf(`nats-server (pid ${ownNats.pid})`, ownNats);
}

/** Runs until a signal stops the stack, or one of its processes dies: then stops the rest. */
function watch(
  engine: EngineProcess,
  carrier: CarrierProcess,
  agent: AgentProcess,
  gateways: readonly GatewayProcess[],
): Promise<never> {
  return stack.stopOnFirstExit([
    natsExit(),
    exitOf('engine', engine),
    exitOf('shipping agent', agent),
    exitOf('fake carrier', carrier),
    ...gateways.map((gateway, i) => exitOf(`gateway ${i + 1}`, gateway)),
  ]);
}

async function main(): Promise<never> {
  stack.installHandlers();
  try {
    mkdirSync(logDir, { recursive: true });
    console.log(`logs: ${logFile('<process>')} (LOG_LEVEL=${logLevel})`);
    const nc = stack.useConnection(await connectNats());
    const engine = await startEngine();
    const carrier = await startCarrier();
    const agent = await startAgent(carrier);
    const gateways = await startGateways();
    stack.checkNotStopping();
    await ensureDemoSale(nc);
    printWelcome(gateways);
    return await watch(engine, carrier, agent, gateways);
  } catch (error) {
    return stack.startFailed(error);
  }
}

await main();
