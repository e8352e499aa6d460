import { hostname } from 'node:os';
import { type Static, Type } from '@sinclair/typebox';
import envSchema from 'env-schema';
import { ORDER_BATCH_ORDERS_MAX } from '../engine/protocol/index.js';
import { LogLevelSetting, NatsUrlSetting, natsServers } from '../service-kit/settings.js';

// The gateway's settings, read from the environment once at start and validated; a bad value
// stops the process with a message naming the variable. Every limit has its unit in its name.

/** The development default; the gateway logs a warning when it runs with it. */
export const JWT_SECRET_DEVELOPMENT = 'flash-sale-development-secret-change-me';

const GatewayEnv = Type.Object({
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65_535 }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  NATS_URL: NatsUrlSetting,
  GATEWAY_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  LOG_LEVEL: LogLevelSetting,
  /** One summary line of the requests answered per interval, at `info`; 0 turns it off. */
  LOG_SUMMARY_INTERVAL_MS: Type.Integer({ default: 10_000, minimum: 0, maximum: 3_600_000 }),
  /** A request answered slower than this is logged at `warn`, one line each. */
  LOG_SLOW_REQUEST_MS: Type.Integer({ default: 1_000, minimum: 1, maximum: 3_600_000 }),
  /** HS256 secret; ignored when JWT_PUBLIC_KEY is set. */
  JWT_SECRET: Type.String({ default: JWT_SECRET_DEVELOPMENT, minLength: 16 }),
  /** PEM public key: tokens are then verified as RS256/ES256 instead of HS256. */
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  ENGINE_REQUEST_TIMEOUT_MS: Type.Integer({ default: 2_000, minimum: 50, maximum: 60_000 }),
  ENGINE_INFLIGHT_MAX: Type.Integer({ default: 4_096, minimum: 1, maximum: 1_000_000 }),
  /** Orders of one event-loop turn sent to the engine as one message; 1 turns batching off. */
  ENGINE_BATCH_ORDERS_MAX: Type.Integer({
    default: ORDER_BATCH_ORDERS_MAX,
    minimum: 1,
    maximum: ORDER_BATCH_ORDERS_MAX,
  }),
  /**
   * Verified tokens remembered (by their exact text, until they expire); 0, the default, verifies
   * every time: in an opening second every customer comes with a token of their own, and a cache
   * that nearly never hits costs more than it saves (fast-jwt: 12.4 µs a token with it, 6.9 µs
   * without, over 50,000 distinct tokens). Worth it only where the same tokens come back often.
   */
  JWT_CACHE_TOKENS_MAX: Type.Integer({ default: 0, minimum: 0, maximum: 10_000_000 }),
  /** Per customer (token `sub`, else client address) per window. */
  RATE_LIMIT_MAX: Type.Integer({ default: 20, minimum: 1, maximum: 1_000_000 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 1_000, minimum: 100, maximum: 3_600_000 }),
  BODY_BYTES_MAX: Type.Integer({ default: 4_096, minimum: 256, maximum: 1_048_576 }),
  /** Load shedding: answer OVERLOADED while the event loop lags more than this; 0 turns it off. */
  EVENT_LOOP_DELAY_MS_MAX: Type.Integer({ default: 500, minimum: 0, maximum: 60_000 }),
  RETRY_AFTER_S: Type.Integer({ default: 1, minimum: 1, maximum: 3_600 }),
  WS_CONNECTIONS_MAX: Type.Integer({ default: 50_000, minimum: 1, maximum: 1_000_000 }),
  /** Open `/v1/me/live` sockets one customer may hold on a gateway (a page per tab). */
  WS_CONNECTIONS_PER_CUSTOMER_MAX: Type.Integer({ default: 8, minimum: 1, maximum: 1_000 }),
  /** Every socket is pinged this often; one that has not answered the previous ping is closed. */
  WS_PING_INTERVAL_MS: Type.Integer({ default: 30_000, minimum: 100, maximum: 600_000 }),
  /**
   * Signs the waiting room's proof-of-work challenges (HMAC): the same on every gateway, since a
   * challenge from one is solved and sent to another. Set it in production.
   */
  POW_HMAC_SECRET: Type.String({ default: 'flash-sale-development-pow-secret', minLength: 16 }),
  /** SHA-256 rounds per attempt of a challenge: what one attempt costs a client. */
  POW_COST: Type.Integer({ default: 50, minimum: 1, maximum: 100_000 }),
  /** Attempts a challenge takes at most (each takes from half of it to all of it). */
  POW_ATTEMPTS_MAX: Type.Integer({ default: 2_000, minimum: 2, maximum: 10_000_000 }),
  /** How long a challenge may be solved and used. */
  POW_CHALLENGE_TTL_S: Type.Integer({ default: 300, minimum: 10, maximum: 86_400 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 10_000, minimum: 0, maximum: 600_000 }),
});

export type GatewayConfig = Readonly<{
  port: number;
  host: string;
  natsUrl: string;
  gatewayId: string;
  logLevel: string;
  logSummaryIntervalMs: number;
  logSlowRequestMs: number;
  jwt: {
    readonly secret: string;
    readonly publicKey: string | null;
    readonly cacheTokensMax: number;
  };
  engineRequestTimeoutMs: number;
  engineInflightMax: number;
  engineBatchOrdersMax: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  bodyBytesMax: number;
  eventLoopDelayMsMax: number;
  retryAfterS: number;
  wsConnectionsMax: number;
  wsConnectionsPerCustomerMax: number;
  wsPingIntervalMs: number;
  shutdownGraceMs: number;
  proofOfWork: {
    readonly hmacSecret: string;
    readonly cost: number;
    readonly attemptsMax: number;
    readonly challengeTtlS: number;
  };
}>;

/** @fastify/under-pressure samples the event loop every 10 ms: a smaller limit means nothing. */
const EVENT_LOOP_RESOLUTION_MS = 10;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const values = envSchema<Static<typeof GatewayEnv>>({
    schema: GatewayEnv,
    data: env,
    dotenv: false,
  });
  natsServers(values.NATS_URL);
  const lagMs = values.EVENT_LOOP_DELAY_MS_MAX;
  if (lagMs > 0 && lagMs < EVENT_LOOP_RESOLUTION_MS)
    throw new Error(
      `EVENT_LOOP_DELAY_MS_MAX: ${lagMs} is below the ${EVENT_LOOP_RESOLUTION_MS} ms the delay is ` +
        'measured in; 0 turns the shedding off',
    );
  return {
    port: values.PORT,
    host: values.HOST,
    natsUrl: values.NATS_URL,
    gatewayId: values.GATEWAY_ID ?? `${hostname()}-${process.pid}`,
    logLevel: values.LOG_LEVEL,
    logSummaryIntervalMs: values.LOG_SUMMARY_INTERVAL_MS,
    logSlowRequestMs: values.LOG_SLOW_REQUEST_MS,
    jwt: {
      secret: values.JWT_SECRET,
      publicKey: values.JWT_PUBLIC_KEY ?? null,
      cacheTokensMax: values.JWT_CACHE_TOKENS_MAX,
    },
    engineRequestTimeoutMs: values.ENGINE_REQUEST_TIMEOUT_MS,
    engineInflightMax: values.ENGINE_INFLIGHT_MAX,
    engineBatchOrdersMax: values.ENGINE_BATCH_ORDERS_MAX,
    rateLimitMax: values.RATE_LIMIT_MAX,
    rateLimitWindowMs: values.RATE_LIMIT_WINDOW_MS,
    bodyBytesMax: values.BODY_BYTES_MAX,
    eventLoopDelayMsMax: values.EVENT_LOOP_DELAY_MS_MAX,
    retryAfterS: values.RETRY_AFTER_S,
    wsConnectionsMax: values.WS_CONNECTIONS_MAX,
    wsConnectionsPerCustomerMax: values.WS_CONNECTIONS_PER_CUSTOMER_MAX,
    wsPingIntervalMs: values.WS_PING_INTERVAL_MS,
    shutdownGraceMs: values.SHUTDOWN_GRACE_MS,
    proofOfWork: {
      hmacSecret: values.POW_HMAC_SECRET,
      cost: values.POW_COST,
      attemptsMax: values.POW_ATTEMPTS_MAX,
      challengeTtlS: values.POW_CHALLENGE_TTL_S,
    },
  };
}
