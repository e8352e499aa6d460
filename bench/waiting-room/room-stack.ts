import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JWT_SECRET_DEVELOPMENT } from '../../gateway/config.js';
import { mintToken } from '../../scripts/client/tokens.js';
import { type LocalStack, startLocalStack } from '../../scripts/stack/local-stack.js';
import { type QuietGateway, startQuietGateway } from '../../scripts/stack/quiet-gateway.js';
import { LOAD_GENERATOR, type ProcessGroup, processGroup } from '../compare/cpu-usage.js';

// bench:waiting-room's processes: a private nats-server, one engine, two gateways the customers
// join through (their proof of work set cheap, POW_COST=1 and 2 attempts: the joins measure the
// system, not the solver; the real cost has its own row), and a third gateway left at the default
// proof of work, whose challenges the solve row times and whose live sockets the sockets rows
// load. None sheds or rate-limits: a refusal would be a fast non-answer, not the path measured.

export const BENCH_JWT_SECRET = JWT_SECRET_DEVELOPMENT;

/**
 * No shedding on event-loop lag (0: off): on this shared machine a gateway stalled for a second
 * sheds whatever the limit (a second without a sample counts as pressure), and the first full
 * run lost its sockets rows to a 503 on an upgrade.
 */
const UNLIMITED_GATEWAY_ENV = {
  RATE_LIMIT_MAX: '1000000',
  ENGINE_INFLIGHT_MAX: '1000000',
  EVENT_LOOP_DELAY_MS_MAX: '0',
};
const CHEAP_WORK_ENV = { POW_COST: '1', POW_ATTEMPTS_MAX: '2' };
/**
 * The follow gateway pings its sockets once in ten minutes: at the default (30 s) a ping to every
 * socket would land in some windows and not others, and the rows measure the queue messages.
 */
const FOLLOW_GATEWAY_ENV = { WS_PING_INTERVAL_MS: '600000', WS_CONNECTIONS_MAX: '1000000' };
/** Joins grown over NATS arrive hundreds at once in the engine's mailbox. */
const ENGINE_ENV = { MAILBOX_COMMANDS_MAX: '65536' };

export interface RoomStack {
  /** The two gateways customers join through (cheap proof of work). */
  readonly joinUrls: readonly string[];
  /** The gateway with the default proof of work, whose live sockets are followed. */
  readonly followUrl: string;
  /** Every gateway: the join gateways, then the follow gateway. */
  readonly allUrls: readonly string[];
  readonly nc: NatsConnection;
  readonly adminToken: string;
  /** The server's processes while customers join (both join gateways, engine, nats-server). */
  readonly joinGroups: readonly ProcessGroup[];
  readonly followGateway: ProcessGroup;
  readonly engine: ProcessGroup;
  stop(): Promise<void>;
}

export async function startRoomStack(sales: readonly string[]): Promise<RoomStack> {
  let local: LocalStack | null = null;
  let follow: QuietGateway | null = null;
  let nc: NatsConnection | null = null;
  const stop = async (): Promise<void> => {
    await nc?.close();
    await follow?.process.kill('SIGTERM');
    await local?.stop();
  };
  try {
    local = await startLocalStack({
      sales,
      gateways: 2,
      jwtSecret: BENCH_JWT_SECRET,
      gatewayEnv: { ...UNLIMITED_GATEWAY_ENV, ...CHEAP_WORK_ENV },
      engineEnv: ENGINE_ENV,
    });
    follow = await startQuietGateway({
      natsUrl: local.natsUrl,
      jwtSecret: BENCH_JWT_SECRET,
      env: { ...UNLIMITED_GATEWAY_ENV, ...FOLLOW_GATEWAY_ENV },
    });
    nc = await connect({ servers: local.natsUrl });
  } catch (error) {
    await stop();
    throw error;
  }
  const engine = processGroup('engine', local.engine);
  return {
    joinUrls: local.gatewayUrls,
    followUrl: follow.url,
    allUrls: [...local.gatewayUrls, follow.url],
    nc,
    adminToken: mintToken(BENCH_JWT_SECRET, { sub: 'ops', role: 'admin' }),
    joinGroups: [
      ...local.gateways.map((gateway, i) => processGroup(`gateway ${i + 1}`, gateway)),
      engine,
      processGroup('nats-server', { pid: local.natsPid }),
      LOAD_GENERATOR,
    ],
    followGateway: processGroup('follow gateway', follow.process),
    engine,
    stop,
  };
}
