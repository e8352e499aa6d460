import { hostname } from 'node:os';
import { type Static, Type } from '@sinclair/typebox';
import envSchema from 'env-schema';
import {
  JetStreamReplicasSetting,
  LogLevelSetting,
  NatsUrlSetting,
  natsServers,
} from '../service-kit/settings.js';

// The shipping agent's settings, read from the environment once at start and validated; a bad
// value stops the process with a message naming the variable. Every limit carries its unit.

const AgentEnv = Type.Object({
  NATS_URL: NatsUrlSetting,
  JETSTREAM_REPLICAS: JetStreamReplicasSetting,
  CARRIER_URL: Type.String({ default: 'http://127.0.0.1:4000', minLength: 1 }),
  AGENT_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  LOG_LEVEL: LogLevelSetting,
  AGENT_METRICS_PORT: Type.Integer({ default: 9465, minimum: 0, maximum: 65_535 }),
  AGENT_METRICS_HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  /** JetStream consumer `shipping`: a delivery not acked (or marked working) by then comes back. */
  SHIPPING_ACK_WAIT_MS: Type.Integer({ default: 30_000, minimum: 1_000, maximum: 3_600_000 }),
  /** Deliveries whose carrier calls fail before the order is dead-lettered (counted by the agent). */
  SHIPPING_MAX_DELIVER: Type.Integer({ default: 8, minimum: 2, maximum: 1_000 }),
  /** Unacknowledged deliveries across all agents (bounds the carrier's load from us). */
  SHIPPING_MAX_ACK_PENDING: Type.Integer({ default: 256, minimum: 1, maximum: 100_000 }),
  /** Deliveries one agent works on at once. */
  SHIPPING_CONCURRENCY: Type.Integer({ default: 64, minimum: 1, maximum: 10_000 }),
  /**
   * Deliveries one agent may hold, on top of SHIPPING_CONCURRENCY, while they wait for an engine
   * that doesn't answer: a waiting delivery leaves its slot to others, so shipments of sales on
   * other engines go on. For sales spread over several engines. 0, the default, suits one engine:
   * every message in hand spends a delivery when the agent dies or the engine stays away past
   * ENGINE_WAIT_MS, and more in hand then means more orders nearer their dead letter.
   */
  SHIPPING_ENGINE_WAITERS_MAX: Type.Integer({ default: 0, minimum: 0, maximum: 100_000 }),
  /**
   * Time from the order's arrival in ORDERS after which a failed delivery is its last (the order
   * is dead-lettered rather than put back): a bound on how long an order stays neither shipped
   * nor dead-lettered, besides SHIPPING_MAX_DELIVER (docs/operations.md). 0: none.
   */
  SHIPPING_DEADLINE_MS: Type.Integer({ default: 0, minimum: 0, maximum: 30 * 24 * 3_600_000 }),
  /** Redelivery delays after a failed delivery, by delivery number; the last one repeats. */
  SHIPPING_BACKOFF_MS: Type.String({
    default: '2000,5000,15000,30000,60000,120000,300000',
    pattern: '^[0-9]+(,[0-9]+)*$',
  }),
  CARRIER_ATTEMPTS: Type.Integer({ default: 3, minimum: 1, maximum: 10 }),
  CARRIER_RETRY_BASE_MS: Type.Integer({ default: 200, minimum: 1, maximum: 60_000 }),
  CARRIER_CONNECT_TIMEOUT_MS: Type.Integer({ default: 2_000, minimum: 10, maximum: 60_000 }),
  CARRIER_HEADERS_TIMEOUT_MS: Type.Integer({ default: 5_000, minimum: 10, maximum: 120_000 }),
  CARRIER_BODY_TIMEOUT_MS: Type.Integer({ default: 5_000, minimum: 10, maximum: 120_000 }),
  CARRIER_CONNECTIONS: Type.Integer({ default: 64, minimum: 1, maximum: 10_000 }),
  /** opossum: a call slower than this counts as a failure. */
  BREAKER_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 10, maximum: 300_000 }),
  BREAKER_ERROR_PERCENT: Type.Integer({ default: 50, minimum: 1, maximum: 100 }),
  /** Calls in the rolling window before the breaker may open at all. */
  BREAKER_VOLUME_THRESHOLD: Type.Integer({ default: 10, minimum: 1, maximum: 100_000 }),
  BREAKER_RESET_MS: Type.Integer({ default: 10_000, minimum: 10, maximum: 3_600_000 }),
  BREAKER_WINDOW_MS: Type.Integer({ default: 10_000, minimum: 100, maximum: 3_600_000 }),
  ENGINE_REQUEST_TIMEOUT_MS: Type.Integer({ default: 5_000, minimum: 50, maximum: 60_000 }),
  /**
   * How long one delivery waits for an engine it can't reach (a restart, a lease failover) before
   * handing the message back, which spends a redelivery. Longer than a failover (LEASE_TTL_MS).
   */
  ENGINE_WAIT_MS: Type.Integer({ default: 60_000, minimum: 0, maximum: 3_600_000 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 20_000, minimum: 0, maximum: 600_000 }),
});

type Env = Static<typeof AgentEnv>;

export interface AgentConfig {
  readonly natsUrl: string;
  /** Copies JetStream keeps of the dead-letter and notification streams and the stop releases. */
  readonly replicas: number;
  readonly carrierUrl: string;
  readonly agentId: string;
  readonly logLevel: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly maxAckPending: number;
  readonly concurrency: number;
  readonly engineWaitersMax: number;
  readonly deadlineMs: number;
  readonly backoffMs: readonly number[];
  readonly carrier: {
    readonly attempts: number;
    readonly retryBaseMs: number;
    readonly connectTimeoutMs: number;
    readonly headersTimeoutMs: number;
    readonly bodyTimeoutMs: number;
    readonly connections: number;
  };
  readonly breaker: {
    readonly timeoutMs: number;
    readonly errorPercent: number;
    readonly volumeThreshold: number;
    readonly resetMs: number;
    readonly windowMs: number;
  };
  readonly engineRequestTimeoutMs: number;
  readonly engineWaitMs: number;
  readonly shutdownGraceMs: number;
}

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const v = envSchema<Env>({ schema: AgentEnv, data: env, dotenv: false });
  natsServers(v.NATS_URL);
  try {
    new URL(v.CARRIER_URL);
  } catch {
    throw new Error(`CARRIER_URL: ${JSON.stringify(v.CARRIER_URL)} is not a URL`);
  }
  return {
    natsUrl: v.NATS_URL,
    replicas: v.JETSTREAM_REPLICAS,
    carrierUrl: v.CARRIER_URL,
    agentId: v.AGENT_ID ?? `${hostname()}-${process.pid}`,
    logLevel: v.LOG_LEVEL,
    metricsPort: v.AGENT_METRICS_PORT,
    metricsHost: v.AGENT_METRICS_HOST,
    ackWaitMs: v.SHIPPING_ACK_WAIT_MS,
    maxDeliver: v.SHIPPING_MAX_DELIVER,
    maxAckPending: v.SHIPPING_MAX_ACK_PENDING,
    concurrency: v.SHIPPING_CONCURRENCY,
    engineWaitersMax: v.SHIPPING_ENGINE_WAITERS_MAX,
    deadlineMs: v.SHIPPING_DEADLINE_MS,
    backoffMs: v.SHIPPING_BACKOFF_MS.split(',').map(Number),
    carrier: {
      attempts: v.CARRIER_ATTEMPTS,
      retryBaseMs: v.CARRIER_RETRY_BASE_MS,
      connectTimeoutMs: v.CARRIER_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: v.CARRIER_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: v.CARRIER_BODY_TIMEOUT_MS,
      connections: v.CARRIER_CONNECTIONS,
    },
    breaker: {
      timeoutMs: v.BREAKER_TIMEOUT_MS,
      errorPercent: v.BREAKER_ERROR_PERCENT,
      volumeThreshold: v.BREAKER_VOLUME_THRESHOLD,
      resetMs: v.BREAKER_RESET_MS,
      windowMs: v.BREAKER_WINDOW_MS,
    },
    engineRequestTimeoutMs: v.ENGINE_REQUEST_TIMEOUT_MS,
    engineWaitMs: v.ENGINE_WAIT_MS,
    shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
  };
}
