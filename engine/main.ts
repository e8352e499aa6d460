import { EXIT_CONFIGURATION_ERROR } from '../service-kit/exit-codes.js';
import { stopWhenParentGoes } from '../service-kit/parent-watch.js';
import { loadEngineConfig } from './shell/config.js';
import { StandbyAbortedError, startEngine } from './shell/engine.js';
import { createLogger } from './shell/logger.js';
import { SaleHomeConflictError } from './shell/sale-homes.js';

// The engine process: `npm run engine`. Settings come from the environment (see the README).

const bootLogger = createLogger('engine', 'info');
let config: ReturnType<typeof loadEngineConfig>;
try {
  config = loadEngineConfig();
} catch (error) {
  bootLogger.fatal({ err: error }, `bad configuration: ${(error as Error).message}`);
  process.exit(EXIT_CONFIGURATION_ERROR);
}

const logger = createLogger('engine', config.logLevel, { engineId: config.engineId });
const starting = new AbortController();
let stop: (() => Promise<void>) | null = null;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    logger.info({ signal }, 'stopping');
    if (stop === null) starting.abort();
    else void stop();
  });
}
stopWhenParentGoes(() => process.kill(process.pid, 'SIGTERM'));

try {
  const engine = await startEngine(config, logger, starting.signal);
  stop = engine.stop;
  process.exitCode = await engine.stopped;
} catch (error) {
  if (error instanceof StandbyAbortedError) {
    logger.info('stopped while standing by');
  } else if (error instanceof SaleHomeConflictError) {
    logger.fatal({ err: error }, `refusing to start: ${error.message}`);
    process.exitCode = EXIT_CONFIGURATION_ERROR;
  } else {
    logger.fatal({ err: error }, `engine failed to start: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
// Flush the log and leave even if a library left a timer running.
logger.flush();
process.exit(process.exitCode ?? 0);
