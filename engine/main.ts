import { EXIT_CONFIGURATION_ERROR } from '../service-kit/exit-codes.js';
import { runService } from '../service-kit/service-main.js';
import { loadEngineConfig } from './shell/config.js';
import { startEngine } from './shell/engine.js';
import { SaleHomeConflictError } from './shell/sale-homes.js';

// The engine process: `npm run engine`. Settings come from the environment (see the README).

/**
 * A graceful stop's bound: the outbox hand-over (SHUTDOWN_OUTBOX_WAIT_MS) and the lease release,
 * with room. Every acknowledged order is fsynced already: a stop that hangs (NATS gone mid-drain)
 * may be cut short without losing any, and must not keep the WAL lock and the port for ever.
 */
const STOP_GRACE_MS = 10_000;

await runService({
  name: 'engine',
  loadConfig: loadEngineConfig,
  loggerOptions: (config) => ({ base: { engineId: config.engineId } }),
  stopGraceMs: () => STOP_GRACE_MS,
  async start(config, logger, signal) {
    const engine = await startEngine(config, logger, signal);
    return {
      ready: { sales: config.sales, metricsPort: engine.metricsPort },
      async stop() {
        await engine.stop();
        return engine.stopped;
      },
      ended: engine.stopped,
    };
  },
  // (A stop while standing by ends the start with StandbyAbortedError: runService exits 0 then.)
  refusal(error) {
    if (error instanceof SaleHomeConflictError)
      return { code: EXIT_CONFIGURATION_ERROR, message: `refusing to start: ${error.message}` };
    return null;
  },
});
