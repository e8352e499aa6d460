import { serveMetrics } from '../service-kit/metrics-server.js';
import { drainOrClose } from '../service-kit/nats-close.js';
import { connectNats } from '../service-kit/nats-connect.js';
import { runService } from '../service-kit/service-main.js';
import { startAgent } from './agent.js';
import { loadAgentConfig } from './config.js';

// The shipping agent process: `npm run shipping-agent`. Settings come from the environment.

await runService({
  name: 'shipping-agent',
  loadConfig: loadAgentConfig,
  loggerOptions: (config) => ({ base: { agentId: config.agentId } }),
  stopGraceMs: (config) => config.shutdownGraceMs,
  async start(config, logger, signal) {
    const nc = await connectNats({
      natsUrl: config.natsUrl,
      name: `shipping-agent ${config.agentId}`,
      logger,
    });
    const agent = await startAgent(nc, config, logger, signal);
    const metricsServer = await serveMetrics(
      agent.metrics.registry,
      config.metricsPort,
      config.metricsHost,
    );
    metricsServer.server.unref();
    logger.info({ port: metricsServer.port }, 'metrics at GET /metrics');
    return {
      ready: { metricsPort: metricsServer.port },
      async stop() {
        logger.info('no new deliveries; finishing those in hand');
        await agent.stop();
        await drainOrClose(nc, logger);
        logger.info('shipping agent stopped');
        return 0;
      },
    };
  },
});
