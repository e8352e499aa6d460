import { runService } from '../service-kit/service-main.js';
import { loadCarrierConfig } from './config.js';
import { buildCarrier } from './server.js';

// The fake carrier process: `npm run fake-carrier`. Settings come from the environment (see
// config.ts); faults and outages change at run time through its admin routes.

/**
 * Closing drops every unanswered call at once, so only a bug could make it take this long; the
 * process is gone a second later whatever its stdout is (with a pipe nobody reads any more, the
 * exit itself can hang in the logger's last flush: service-kit/exit-deadline.ts).
 */
const CLOSE_WAIT_MS_MAX = 2_000;

await runService({
  name: 'fake-carrier',
  loadConfig: loadCarrierConfig,
  stopGraceMs: () => CLOSE_WAIT_MS_MAX,
  async start(config, logger) {
    const app = await buildCarrier({ logger, faults: config.faults, outageMs: config.outageMs });
    const address = await app.listen({ port: config.port, host: config.host });
    const port = Number(new URL(address).port);
    logger.info(
      { address, port, faults: config.faults, outageMs: config.outageMs },
      'carrier listening',
    );
    return {
      ready: { address, port },
      async stop() {
        logger.info('unanswered calls are dropped');
        await app.close();
        logger.info('carrier stopped');
        return 0;
      },
    };
  },
});
