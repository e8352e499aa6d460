import { dirname, join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EngineClient } from './lib/engine-client.js';
import { EngineProcess } from './lib/engine-process.js';
import { NatsServerProcess } from './lib/nats-server.js';

// `npm start`: the whole stack that exists so far on one machine. Uses the NATS at NATS_URL when
// one answers, else starts a local `nats-server -js` with its store beside WAL_DIR; runs the
// engine; creates the demo sale on first run and shows it. Ctrl-C stops everything cleanly, and
// the data survives a restart as long as WAL_DIR is kept.

const NATS_PROBE_TIMEOUT_MS = 1_000;
const ENGINE_METRICS_PORT_DEFAULT = 9464;
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
const engine = await EngineProcess.start({
  natsUrl,
  walDir,
  sales,
  ownProcessGroup: true,
  env: {
    ENGINE_SALES: sales.join(','),
    ENGINE_METRICS_PORT: process.env.ENGINE_METRICS_PORT ?? String(ENGINE_METRICS_PORT_DEFAULT),
  },
});
console.log(`engine serving ${sales.join(', ')} (pid ${engine.pid}, WAL ${walDir})`);
console.log(`engine metrics: http://127.0.0.1:${await engine.metricsPort()}/metrics`);

const client = new EngineClient(nc);
const existing = await client.query(demoSale, { type: 'GetSale' });
if (!existing.ok) {
  await client.configureSale(demoSale, {
    name: 'Demo flash sale',
    stock: 100,
    perCustomerLimit: 2,
  });
  const placed = await client.placeOrder(demoSale, 'demo-customer', 1, 'first-visit');
  console.log('created the demo sale and placed a first order:', JSON.stringify(placed));
}
console.log('sale:', JSON.stringify(await client.sale(demoSale)));
console.log('demo customer:', JSON.stringify(await client.customer(demoSale, 'demo-customer')));
console.log(`NATS subjects: sale.${demoSale}.cmd / .query / .stock, orders.confirmed.${demoSale}`);
console.log('Ctrl-C stops the stack; run `npm start` again and the orders are still there.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    await engine.kill('SIGTERM');
    await nc.drain();
    await server?.stop();
    process.exit(0);
  });
}
const { code, signal } = await engine.exited;
if (!stopping) {
  console.error(`engine exited unexpectedly (${code ?? signal})`);
  await server?.stop();
  process.exit(1);
}
