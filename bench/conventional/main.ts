import pg from 'pg';
import { pino } from 'pino';
import { buildConventionalApp } from './app.js';
import { loadConventionalConfig } from './config.js';
import { CustomerLocks, LOCK_VALIDITY_MARGIN_MS } from './customer-lock.js';
import { OrderDesk } from './place-order.js';
import { PurchaseCounters } from './purchase-counter.js';
import { connectRedis } from './redis-connection.js';
import { SaleSettingsCache } from './sale-settings-cache.js';
import { createSchema } from './schema.js';

// The conventional flash-sale server as a process (dist/bench/conventional/main.js): what
// bench:compare measures ours against. Settings in config.ts; it creates its tables if needed.

/**
 * The longest a statement may run. An order's transaction starts only while its lock has
 * LOCK_VALIDITY_MARGIN_MS left; this leaves the commit's WAL flush the rest of the margin, so
 * the lock can't expire while the transaction still runs (short of a stall longer than that:
 * the limit of any TTL lock without fencing, Redlock's included).
 */
const STATEMENT_TIMEOUT_MS = LOCK_VALIDITY_MARGIN_MS - 100;
/** Connections the kernel queues before they are accepted; as our gateway sets it. */
const LISTEN_BACKLOG_CONNECTIONS = 4_096;

// Start-up and shutdown lines at info; requests at LOG_LEVEL (warn by default: a line per
// request would be work our gateway doesn't do in the bench either).
const lifecycle = pino({ base: { service: 'conventional', pid: process.pid } });
const config = loadConventionalConfig();
const pool = new pg.Pool({
  connectionString: config.databaseUrl,
  max: config.pgPoolConnections,
  statement_timeout: STATEMENT_TIMEOUT_MS,
});
await createSchema(pool);
const redis = await connectRedis(config.redisUrl, true);
const locks = new CustomerLocks(
  redis,
  config.redisKeyPrefix,
  config.lockTtlMs,
  config.lockWaitMsMax,
);
await locks.prepare();
const sales = new SaleSettingsCache(pool);
const desk = new OrderDesk(pool, sales, new PurchaseCounters(redis, config.redisKeyPrefix), locks);
const app = await buildConventionalApp({
  pool,
  desk,
  sales,
  jwtSecret: config.jwtSecret,
  retryAfterS: config.retryAfterS,
  logLevel: config.logLevel,
});
const address = await app.listen({
  port: config.port,
  host: config.host,
  backlog: LISTEN_BACKLOG_CONNECTIONS,
});
lifecycle.info({ address, port: Number(new URL(address).port) }, 'conventional listening');

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  lifecycle.info({ signal }, 'conventional stopping');
  await app.close();
  await pool.end();
  await redis.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
