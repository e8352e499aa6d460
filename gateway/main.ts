import { pino } from 'pino';
import { EXIT_CONFIGURATION_ERROR } from '../service-kit/exit-codes.js';
import { drainOrClose } from '../service-kit/nats-close.js';
import { stopWhenParentGoes } from '../service-kit/parent-watch.js';
import { buildGateway, settle } from './app.js';
import { JWT_SECRET_DEVELOPMENT, loadGatewayConfig } from './config.js';
import { gatewayLogSerializers } from './log-serializers.js';
import { connectGatewayNats } from './nats.js';

// The gateway process: `npm run gateway`. Settings come from the environment (see the README).

/**
 * Connections the kernel may queue before the gateway accepts them. Node's default of 511
 * overflowed when 1,000 clients connected at once (bench:http): the kernel drops the SYNs past
 * it and those clients retry 1 s, 3 s, … later. Linux caps it at net.core.somaxconn.
 */
const LISTEN_BACKLOG_CONNECTIONS = 4_096;

const bootLogger = pino({ base: { service: 'gateway', pid: process.pid } });
let config: ReturnType<typeof loadGatewayConfig>;
try {
  config = loadGatewayConfig();
} catch (error) {
  bootLogger.fatal({ err: error }, `bad configuration: ${(error as Error).message}`);
  process.exit(EXIT_CONFIGURATION_ERROR);
}
const logger = pino({
  level: config.logLevel,
  base: { service: 'gateway', pid: process.pid, gatewayId: config.gatewayId },
  // Fastify takes a logger's own serializers over its defaults.
  serializers: gatewayLogSerializers,
});
if (config.jwt.publicKey === null && config.jwt.secret === JWT_SECRET_DEVELOPMENT)
  logger.warn('JWT_SECRET is the development default: set it before going live');

let connected = true;
const nc = await connectGatewayNats(config.natsUrl, `gateway ${config.gatewayId}`, logger, (up) => {
  connected = up;
});
const app = await buildGateway({ config, nc, logger, natsConnected: () => connected });
await settle(app);
const address = await app.listen({
  port: config.port,
  host: config.host,
  backlog: LISTEN_BACKLOG_CONNECTIONS,
});
logger.info({ address, port: new URL(address).port }, 'gateway listening');

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: no new requests, finishing those in flight');
  const giveUp = setTimeout(() => {
    logger.error(
      { graceMs: config.shutdownGraceMs },
      'in-flight requests outlived the grace period',
    );
    process.exit(1);
  }, config.shutdownGraceMs);
  await app.close();
  await drainOrClose(nc, logger);
  clearTimeout(giveUp);
  logger.info('gateway stopped');
  logger.flush();
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
stopWhenParentGoes(() => void stop('parent gone'));
