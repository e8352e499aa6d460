import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { AgentProcess } from './lib/agent-process.js';
import { CarrierProcess } from './lib/carrier-process.js';
import { EngineClient } from './lib/engine-client.js';
import { EngineProcess } from './lib/engine-process.js';
import { GatewayProcess } from './lib/gateway-process.js';
import { NatsServerProcess } from './lib/nats-server.js';
import { mintToken } from './lib/tokens.js';

// `npm start`: the whole stack that exists so far on one machine. Uses the NATS at NATS_URL when
// one answers, else starts a local `nats-server -js` with its store beside WAL_DIR; runs the
// engine, two gateways (PORT, PORT+1), the shipping agent and a fake carrier; creates the demo
// sale on first run; prints the live page's address with a demo customer's token. Ctrl-C stops everything cleanly, and
// the data survives a restart as long as WAL_DIR is kept.

const NATS_PROBE_TIMEOUT_MS = 1_000;
const ENGINE_METRICS_PORT_DEFAULT = 9464;
const GATEWAY_PORT_DEFAULT = 3000;
const CARRIER_PORT_DEFAULT = 4000;
const AGENT_METRICS_PORT_DEFAULT = 9465;
const gatewayCount = Number(process.env.GATEWAYS ?? 2);
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const walDir = resolve(process.env.WAL_DIR ?? './data/wal');
const sales = (process.env.ENGINE_SALES ?? 'demo').split(',');
const demoSale = sales[0]!;

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

async function startNatsIfNeeded(): Promise<{
  nc: NatsConnection;
  server: NatsServerProcess | null;
}> {
  const existing = await probe(natsUrl);
  if (existing !== null) {
    console.log(`using the NATS server at ${natsUrl}`);
    return { nc: existing, server: null };
  }
  const port = Number(new URL(natsUrl).port || 4222);
  const storeDir = join(dirname(walDir), 'nats');
  const server = await NatsServerProcess.start({ port, storeDir, ownProcessGroup: true });
  console.log(`started nats-server -js on ${server.url} (store ${server.storeDir})`);
  const nc = await probe(server.url);
  if (nc === null) throw new Error(`nats-server started but ${server.url} does not answer`);
  return { nc, server };
}

const { nc, server } = await startNatsIfNeeded();
// A new WAL directory means a new demo. A NATS that outlived an earlier one (a shared server, a
// kept store) still names that earlier WAL as the demo sale's home, and the engine would refuse
// the sale (sale-homes.ts): here, unlike in production, starting it anew is what is wanted.
const newWal = !existsSync(join(walDir, 'identity.json'));
const engine = await EngineProcess.start({
  natsUrl,
  walDir,
  sales,
  ownProcessGroup: true,
  env: {
    ENGINE_SALES: sales.join(','),
    ENGINE_METRICS_PORT: process.env.ENGINE_METRICS_PORT ?? String(ENGINE_METRICS_PORT_DEFAULT),
    ...(newWal ? { ENGINE_SALES_ADOPT: sales.join(',') } : {}),
  },
});
console.log(`engine serving ${sales.join(', ')} (pid ${engine.pid}, WAL ${walDir})`);
if (newWal)
  console.log(`a new WAL: ${sales.join(', ')} start(s) afresh here, whatever this NATS remembers`);
console.log(`engine metrics: http://127.0.0.1:${await engine.metricsPort()}/metrics`);

// The fake carrier stands in for the real one: CARRIER_FAILURE_RATE, CARRIER_LATENCY_MS_MAX, …
// (see the README) make it misbehave, so the live page shows delays and retries.
const carrier = await CarrierProcess.start({
  ownProcessGroup: true,
  env: {
    CARRIER_PORT: process.env.CARRIER_PORT ?? String(CARRIER_PORT_DEFAULT),
    CARRIER_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  },
});
console.log(`fake carrier: ${carrier.url} (pid ${carrier.pid})`);
const agent = await AgentProcess.start({
  natsUrl,
  carrierUrl: process.env.CARRIER_URL ?? carrier.url,
  ownProcessGroup: true,
  env: { AGENT_METRICS_PORT: process.env.AGENT_METRICS_PORT ?? String(AGENT_METRICS_PORT_DEFAULT) },
});
console.log(`shipping agent pulling (pid ${agent.pid}, metrics :${await agent.metricsPort()})`);

const jwtSecret = process.env.JWT_SECRET ?? JWT_SECRET_DEVELOPMENT;
const firstPort = Number(process.env.PORT ?? GATEWAY_PORT_DEFAULT);
const gateways = await Promise.all(
  Array.from({ length: gatewayCount }, (_, i) =>
    GatewayProcess.start({
      natsUrl,
      jwtSecret,
      port: firstPort + i,
      ownProcessGroup: true,
      env: { HOST: process.env.HOST ?? '127.0.0.1', GATEWAY_ID: `gateway-${i + 1}` },
    }),
  ),
);

const client = new EngineClient(nc);
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

Ctrl-C stops the stack; run \`npm start\` again and the orders are still there.`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    // Gateways first (they finish their requests), then the engine (it flushes), then NATS.
    await Promise.all(gateways.map((gateway) => gateway.kill('SIGTERM')));
    await agent.kill('SIGTERM');
    await engine.kill('SIGTERM');
    await carrier.kill('SIGTERM');
    await nc.drain();
    await server?.stop();
    process.exit(0);
  });
}
const exited = await Promise.race([
  engine.exited.then((how) => ({ who: 'engine', ...how })),
  agent.exited.then((how) => ({ who: 'shipping agent', ...how })),
  carrier.exited.then((how) => ({ who: 'fake carrier', ...how })),
  ...gateways.map((gateway, i) =>
    gateway.exited.then((how) => ({ who: `gateway ${i + 1}`, ...how })),
  ),
]);
if (!stopping) {
  console.error(`${exited.who} exited unexpectedly (${exited.code ?? exited.signal})`);
  await Promise.all(gateways.map((gateway) => gateway.kill('SIGTERM')));
  await agent.kill('SIGTERM');
  await engine.kill('SIGTERM');
  await carrier.kill('SIGTERM');
  await server?.stop();
  process.exit(1);
}
