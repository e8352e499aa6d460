import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import envSchema from 'env-schema';
import {
  JetStreamReplicasSetting,
  LogLevelSetting,
  NatsUrlSetting,
  natsServers,
} from '../../service-kit/settings.js';
import { SALE_ID_PATTERN } from '../core/limits.js';

// The engine's settings, read from the environment once at start and validated (twelve-factor).
// A bad value stops the process with a message naming the variable.

export const LEASE_TTL_MS_DEFAULT = 10_000;
/**
 * In a cluster the lease TTL is most of the failover budget (DESIGN.md goal: the first order
 * served by the new owner within 10 s of the kill, p99): an owner's lease expires 2/3 to 3/3 of
 * a TTL after its death (renewed every third), then a standby takes it within a poll and catches
 * up in milliseconds. Shorter leases would lapse during a NATS leader election (4-9 s here) and
 * move sales for nothing; a lapse then only pauses the sale until the lease is renewed.
 */
export const CLUSTER_LEASE_TTL_MS_DEFAULT = 5_000;

const EngineEnv = Type.Object({
  NATS_URL: NatsUrlSetting,
  WAL_DIR: Type.String({ default: './data/wal', minLength: 1 }),
  /**
   * Comma-separated saleIds pinned to this engine (it serves them whoever places sales); empty
   * for an engine that serves only what the pool places on it.
   */
  ENGINE_SALES: Type.String({ default: 'demo' }),
  /** Whether this engine is in the pool: takes part in placing new sales, and serves its share. */
  ENGINE_POOL: Type.Boolean({ default: true }),
  JETSTREAM_REPLICAS: JetStreamReplicasSetting,
  /**
   * Each sale's log replicated (sale-log.ts) and failed over between engines: on by default with
   * JETSTREAM_REPLICAS > 1 (a cluster), off on one machine (the local WAL is the record).
   */
  SALE_LOG_REPLICATED: Type.Optional(Type.Boolean()),
  /** Sales this engine serves at most, pinned and placed: past it the pool places elsewhere. */
  ENGINE_SALES_MAX: Type.Integer({ default: 1_000, minimum: 1, maximum: 100_000 }),
  /**
   * Comma-separated sales of ENGINE_SALES this engine may take from another WAL (sale-homes.ts):
   * served from this WAL's state of them, their orders in the other WAL left behind. Deliberate.
   */
  ENGINE_SALES_ADOPT: Type.Optional(Type.String()),
  ENGINE_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  LOG_LEVEL: LogLevelSetting,
  /** Default: LEASE_TTL_MS_DEFAULT, or CLUSTER_LEASE_TTL_MS_DEFAULT with a replicated log. */
  LEASE_TTL_MS: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 600_000 })),
  MAILBOX_COMMANDS_MAX: Type.Integer({ default: 16_384, minimum: 1, maximum: 1_048_576 }),
  SNAPSHOT_EVERY_RECORDS: Type.Integer({ default: 100_000, minimum: 100, maximum: 100_000_000 }),
  /** Orders serialised per step of a snapshot before the engine gets back to its commands. */
  SNAPSHOT_STEP_ORDERS: Type.Integer({ default: 5_000, minimum: 1, maximum: 10_000_000 }),
  /** How often each served sale's waiting room is ticked (engine/shell/queue-ticker.ts). */
  QUEUE_TICK_MS: Type.Integer({ default: 250, minimum: 10, maximum: 10_000 }),
  OUTBOX_BACKLOG_MAX: Type.Integer({ default: 100_000, minimum: 1, maximum: 10_000_000 }),
  ORDERS_DUPLICATE_WINDOW_MS: Type.Integer({ default: 3_600_000, minimum: 1_000 }),
  STOCK_PUBLISH_INTERVAL_MS: Type.Integer({ default: 50, minimum: 1, maximum: 10_000 }),
  /** Prometheus `GET /metrics`; 0 picks a free port (logged), for tests running many engines. */
  ENGINE_METRICS_PORT: Type.Integer({ default: 9464, minimum: 0, maximum: 65_535 }),
  ENGINE_METRICS_HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
});

export type EngineEnv = Static<typeof EngineEnv>;

export interface EngineConfig {
  readonly natsUrl: string;
  readonly walDir: string;
  readonly sales: readonly string[];
  readonly pool: boolean;
  /** Copies of each stream and KV bucket the engine creates (1, or 3 in a cluster). */
  readonly replicas: number;
  /** Sales recorded in their replicated logs, owned and followed across the pool. */
  readonly saleLogReplicated: boolean;
  readonly salesMax: number;
  /**
   * Sales this engine may take from another WAL: saleId → the WAL to take it from (its id, from
   * `<saleId>@<walId>`), or null for any (`<saleId>` alone).
   */
  readonly salesToAdopt: ReadonlyMap<string, string | null>;
  readonly engineId: string;
  readonly logLevel: string;
  readonly leaseTtlMs: number;
  readonly mailboxCommandsMax: number;
  readonly snapshotEveryRecords: number;
  readonly snapshotStepOrders: number;
  readonly queueTickMs: number;
  readonly outboxBacklogMax: number;
  readonly ordersDuplicateWindowMs: number;
  readonly stockPublishIntervalMs: number;
  readonly metricsPort: number;
  readonly metricsHost: string;
}

const commaList = (value: string): string[] => value.split(',').map((s) => s.trim());

export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const values = envSchema<EngineEnv>({ schema: EngineEnv, data: env, dotenv: false });
  natsServers(values.NATS_URL);
  const sales = commaList(values.ENGINE_SALES).filter((s) => s !== '');
  const badSale = sales.find((s) => !SALE_ID_PATTERN.test(s));
  if (badSale !== undefined)
    throw new Error(
      `ENGINE_SALES: ${JSON.stringify(badSale)} is not a saleId (1-64 of [A-Za-z0-9_-])`,
    );
  if (new Set(sales).size !== sales.length) throw new Error('ENGINE_SALES lists a sale twice');
  const salesToAdopt = new Map<string, string | null>();
  for (const item of commaList(values.ENGINE_SALES_ADOPT ?? '').filter((s) => s !== '')) {
    const [saleId = '', fromWalId, ...rest] = item.split('@').map((part) => part.trim());
    if (!sales.includes(saleId))
      throw new Error(`ENGINE_SALES_ADOPT: ${JSON.stringify(saleId)} is not in ENGINE_SALES`);
    if (fromWalId === '' || rest.length > 0 || salesToAdopt.has(saleId))
      throw new Error(
        `ENGINE_SALES_ADOPT: ${JSON.stringify(item)}: give each sale once, as <saleId> or ` +
          '<saleId>@<walId of its present home>',
      );
    salesToAdopt.set(saleId, fromWalId ?? null);
  }
  const saleLogReplicated = values.SALE_LOG_REPLICATED ?? values.JETSTREAM_REPLICAS > 1;
  return {
    natsUrl: values.NATS_URL,
    walDir: resolve(values.WAL_DIR),
    sales,
    pool: values.ENGINE_POOL,
    replicas: values.JETSTREAM_REPLICAS,
    saleLogReplicated,
    salesMax: values.ENGINE_SALES_MAX,
    salesToAdopt,
    engineId: values.ENGINE_ID ?? `${hostname()}-${process.pid}`,
    logLevel: values.LOG_LEVEL,
    leaseTtlMs:
      values.LEASE_TTL_MS ??
      (saleLogReplicated ? CLUSTER_LEASE_TTL_MS_DEFAULT : LEASE_TTL_MS_DEFAULT),
    mailboxCommandsMax: values.MAILBOX_COMMANDS_MAX,
    snapshotEveryRecords: values.SNAPSHOT_EVERY_RECORDS,
    snapshotStepOrders: values.SNAPSHOT_STEP_ORDERS,
    queueTickMs: values.QUEUE_TICK_MS,
    outboxBacklogMax: values.OUTBOX_BACKLOG_MAX,
    ordersDuplicateWindowMs: values.ORDERS_DUPLICATE_WINDOW_MS,
    stockPublishIntervalMs: values.STOCK_PUBLISH_INTERVAL_MS,
    metricsPort: values.ENGINE_METRICS_PORT,
    metricsHost: values.ENGINE_METRICS_HOST,
  };
}
