import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { EXIT_CONFIGURATION_ERROR } from '../service-kit/exit-codes.js';
import { serveMetrics } from '../service-kit/metrics-server.js';
import { drainOrClose } from '../service-kit/nats-close.js';
import { stopWhenParentGoes } from '../service-kit/parent-watch.js';
import { type RunningAgent, startAgent } from './agent.js';
import { loadAgentConfig } from './config.js';

// The shipping agent process: `npm run shipping-agent`. Settings come from the environment.

const NATS_RECONNECT_WAIT_MS = 250;

const bootLogger = pino({ base: { service: 'shipping-agent', pid: process.pid } });
let config: ReturnType<typeof loadAgentConfig>;
try {
  config = loadAgentConfig();
} catch (error) {
  bootLogger.fatal({ err: error }, `bad configuration: ${(error as Error).message}`);
  process.exit(EXIT_CONFIGURATION_ERROR);
}
const logger = pino({
  level: config.logLevel,
  base: { service: 'shipping-agent', pid: process.pid, agentId: config.agentId },
});

const starting = new AbortController();
let agent: RunningAgent | null = null;
let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: no new deliveries, finishing those in hand');
  starting.abort();
  const giveUp = setTimeout(() => {
    logger.error({ graceMs: config.shutdownGraceMs }, 'deliveries outlived the grace period');
    process.exit(1);
  }, config.shutdownGraceMs);
  await agent?.stop();
  await drainOrClose(nc, logger);
  clearTimeout(giveUp);
  logger.info('shipping agent stopped');
  logger.flush();
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
stopWhenParentGoes(() => void stop('parent gone'));

const nc = await connect({
  servers: config.natsUrl,
  name: `shipping-agent ${config.agentId}`,
  maxReconnectAttempts: -1,
  reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
  waitOnFirstConnect: true,
  noAsyncTraces: true,
});
try {
  agent = await startAgent(nc, config, logger, starting.signal);
} catch (error) {
  if (stopping) process.exit(0);
  logger.fatal({ err: error }, `shipping agent failed to start: ${(error as Error).message}`);
  process.exit(1);
}
const metricsServer = await serveMetrics(
  agent.metrics.registry,
  config.metricsPort,
  config.metricsHost,
);
metricsServer.server.unref();
logger.info({ port: metricsServer.port }, 'metrics at GET /metrics');
