import { drainOrClose } from '../service-kit/nats-close.js';
import { connectNats } from '../service-kit/nats-connect.js';
import { runService } from '../service-kit/service-main.js';
import { buildGateway, settle } from './app.js';
import { JWT_SECRET_DEVELOPMENT, loadGatewayConfig } from './config.js';
import { gatewayLogSerializers } from './log-serializers.js';

// The gateway process: `npm run gateway`. Settings come from the environment (see the README).

/**
 * Connections the kernel may queue before the gateway accepts them. Node's default of 511
 * overflowed when 1,000 clients connected at once (bench:http): the kernel drops the SYNs past
 * it and those clients retry 1 s, 3 s, … later. Linux caps it at net.core.somaxconn.
 */
const LISTEN_BACKLOG_CONNECTIONS = 4_096;

await runService({
  name: 'gateway',
  loadConfig: loadGatewayConfig,
  // Fastify takes a logger's own serializers over its defaults.
  loggerOptions: (config) => ({
    base: { gatewayId: config.gatewayId },
    serializers: gatewayLogSerializers,
  }),
  stopGraceMs: (config) => config.shutdownGraceMs,
  async start(config, logger) {
    if (config.jwt.publicKey === null && config.jwt.secret === JWT_SECRET_DEVELOPMENT)
      logger.warn('JWT_SECRET is the development default: set it before going live');
    let connected = true;
    const nc = await connectNats({
      natsUrl: config.natsUrl,
      name: `gateway ${config.gatewayId}`,
      logger,
      onState: (up) => {
        connected = up;
      },
    });
    const app = await buildGateway({ config, nc, logger, natsConnected: () => connected });
    await settle(app);
    const address = await app.listen({
      port: config.port,
      host: config.host,
      backlog: LISTEN_BACKLOG_CONNECTIONS,
    });
    const port = Number(new URL(address).port);
    logger.info({ address, port }, 'gateway listening');
    return {
      ready: { address, port },
      async stop() {
        logger.info('no new requests; finishing those in flight');
        await app.close();
        await drainOrClose(nc, logger);
        logger.info('gateway stopped');
        return 0;
      },
    };
  },
});
