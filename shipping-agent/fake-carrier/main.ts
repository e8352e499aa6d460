import { pino } from 'pino';
import { EXIT_CONFIGURATION_ERROR } from '../../service-kit/exit-codes.js';
import { stopWhenParentGoes } from '../../service-kit/parent-watch.js';
import { loadCarrierConfig } from './config.js';
import { buildCarrier } from './server.js';

// The fake carrier process: `npm run fake-carrier`. Settings come from the environment (see
// config.ts); faults and outages change at run time through its admin routes.

/** Closing drops every unanswered call at once, so only a bug could make it take this long. */
const CLOSE_WAIT_MS_MAX = 5_000;

const bootLogger = pino({ base: { service: 'fake-carrier', pid: process.pid } });
let config: ReturnType<typeof loadCarrierConfig>;
try {
  config = loadCarrierConfig();
} catch (error) {
  bootLogger.fatal({ err: error }, `bad configuration: ${(error as Error).message}`);
  process.exit(EXIT_CONFIGURATION_ERROR);
}
const logger = pino({
  level: config.logLevel,
  base: { service: 'fake-carrier', pid: process.pid },
});

const app = await buildCarrier({ logger, faults: config.faults, outageMs: config.outageMs });
const address = await app.listen({ port: config.port, host: config.host });
logger.info(
  {
    address,
    port: Number(new URL(address).port),
    faults: config.faults,
    outageMs: config.outageMs,
  },
  'carrier listening',
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: unanswered calls are dropped');
  const giveUp = setTimeout(() => {
    logger.error({ waitMs: CLOSE_WAIT_MS_MAX }, 'the carrier did not close in time');
    process.exit(1);
  }, CLOSE_WAIT_MS_MAX);
  await app.close();
  clearTimeout(giveUp);
  logger.info('carrier stopped');
  logger.flush();
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
stopWhenParentGoes(() => void stop('parent gone'));
