import { type Static, Type } from '@sinclair/typebox';
import envSchema from 'env-schema';

// The conventional server's settings, from the environment like our gateway's. Its database and
// Redis key prefix are private to one run (bench:compare and its test create and drop them), so
// parallel runs on one machine never see each other's rows or keys.

const ConventionalEnv = Type.Object({
  PORT: Type.Integer({ default: 0, minimum: 0, maximum: 65_535 }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'warn' },
  ),
  JWT_SECRET: Type.String({ minLength: 16 }),
  /** The run's own database, e.g. postgres://postgres@127.0.0.1:5432/flashsale_bench_1234. */
  DATABASE_URL: Type.String({ minLength: 1 }),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', minLength: 1 }),
  /** Every Redis key this server writes starts with it (and a colon). */
  REDIS_KEY_PREFIX: Type.String({ minLength: 1, maxLength: 100 }),
  /**
   * PostgreSQL connections in the pool. Orders of one sale serialise on its row lock anyway:
   * more connections queue more transactions behind it, and waiting on a row lock costs the
   * backends CPU; fewer leave the other steps (reads, round trips) queueing for a connection.
   * bench:compare measured 4, 8, 16 and 32 on the 2-vCPU VM: 8 gave the most orders/s (16 was
   * within the noise, 32 clearly fewer).
   */
  PG_POOL_CONNECTIONS: Type.Integer({ default: 8, minimum: 1, maximum: 90 }),
  /** How long a customer:sale lock lives if its holder never releases it (a crash). */
  LOCK_TTL_MS: Type.Integer({ default: 2_000, minimum: 100, maximum: 60_000 }),
  /** How long a request waits for a customer:sale lock another request holds, then 503. */
  LOCK_WAIT_MS_MAX: Type.Integer({ default: 1_000, minimum: 0, maximum: 60_000 }),
  RETRY_AFTER_S: Type.Integer({ default: 1, minimum: 1, maximum: 3_600 }),
});

export type ConventionalConfig = Readonly<{
  port: number;
  host: string;
  logLevel: string;
  jwtSecret: string;
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  pgPoolConnections: number;
  lockTtlMs: number;
  lockWaitMsMax: number;
  retryAfterS: number;
}>;

export function loadConventionalConfig(env: NodeJS.ProcessEnv = process.env): ConventionalConfig {
  const values = envSchema<Static<typeof ConventionalEnv>>({
    schema: ConventionalEnv,
    data: env,
    dotenv: false,
  });
  return {
    port: values.PORT,
    host: values.HOST,
    logLevel: values.LOG_LEVEL,
    jwtSecret: values.JWT_SECRET,
    databaseUrl: values.DATABASE_URL,
    redisUrl: values.REDIS_URL,
    redisKeyPrefix: values.REDIS_KEY_PREFIX,
    pgPoolConnections: values.PG_POOL_CONNECTIONS,
    lockTtlMs: values.LOCK_TTL_MS,
    lockWaitMsMax: values.LOCK_WAIT_MS_MAX,
    retryAfterS: values.RETRY_AFTER_S,
  };
}
