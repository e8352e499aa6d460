import type { NatsConnection } from '@nats-io/transport-node';
import { configureSale } from '../../scripts/client/sale-admin.js';
import { mintToken } from '../../scripts/client/tokens.js';
import type { EngineProcess } from '../../scripts/stack/engine-process.js';
import { GatewayProcess } from '../../scripts/stack/gateway-process.js';
import type { NatsServerProcess } from '../../scripts/stack/nats-server.js';
import { natsClient, startEngine, startNats, type Teardown, tempDir } from './nats.js';

// The stack through HTTP: a private nats-server, a real engine process, and real gateway
// processes, with tokens signed by the secret the gateways verify.

export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef';

export interface Stack {
  readonly nats: NatsServerProcess;
  readonly nc: NatsConnection;
  readonly engine: EngineProcess;
  readonly gateways: readonly GatewayProcess[];
  readonly walDir: string;
  /** A customer token (HS256, 1 h). */
  token(sub: string): string;
  readonly adminToken: string;
}

export interface StackOptions {
  readonly sales: readonly string[];
  readonly gateways?: number;
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  /** The engine's LEASE_TTL_MS (EngineProcess's short default unless given). */
  readonly leaseTtlMs?: number;
}

/**
 * Test gateways don't shed on event-loop lag (0: off): two tap jobs on two cores, each with its
 * own NATS, engine and gateways, can stall a process for a second, and a test of something else
 * then failed on an OVERLOADED it never asked for (CI, createSale; a second without a single
 * sample counts as pressure whatever the limit). The shedding has its own test
 * (gateway-event-loop-shedding), which sets its limit.
 */
export const EVENT_LOOP_DELAY_MS_MAX_TESTS = 0;

export async function startGateway(
  t: Teardown,
  natsUrl: string,
  env: Readonly<Record<string, string>> = {},
): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start({
    natsUrl,
    jwtSecret: TEST_JWT_SECRET,
    env: { EVENT_LOOP_DELAY_MS_MAX: String(EVENT_LOOP_DELAY_MS_MAX_TESTS), ...env },
  });
  t.teardown(() => gateway.kill());
  return gateway;
}

export async function startStack(t: Teardown, options: StackOptions): Promise<Stack> {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const walDir = await tempDir(t, 'wal');
  const engine = await startEngine(t, {
    natsUrl: nats.url,
    walDir,
    sales: options.sales,
    leaseTtlMs: options.leaseTtlMs,
  });
  const gateways = await Promise.all(
    Array.from({ length: options.gateways ?? 1 }, () =>
      startGateway(t, nats.url, options.gatewayEnv),
    ),
  );
  return {
    nats,
    nc,
    engine,
    gateways,
    walDir,
    token: (sub) => mintToken(TEST_JWT_SECRET, { sub, ttlS: 3_600 }),
    adminToken: mintToken(TEST_JWT_SECRET, { sub: 'ops', role: 'admin', ttlS: 3_600 }),
  };
}

/** JSON over real HTTP; returns status, headers and the parsed body (or the raw text). */
export async function http(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back, field by field
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Creates a sale through the admin route, retrying a 503 as a client would (sale-admin.ts). */
export async function createSale(
  stack: Stack,
  saleId: string,
  settings: { stock: number; perCustomerLimit: number; name?: string },
): Promise<void> {
  await configureSale(stack.gateways[0]!.url, stack.adminToken, saleId, {
    ...settings,
    name: settings.name ?? saleId,
  });
}
