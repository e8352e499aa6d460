import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

// The gateway's NATS connection: retried forever (a gateway without NATS answers 503 and says it
// is not ready, it doesn't exit), with its state logged and kept for the readiness probe.

export const NATS_RECONNECT_WAIT_MS = 250;

export async function connectGatewayNats(
  url: string,
  name: string,
  logger: Logger,
  onState: (connected: boolean) => void,
): Promise<NatsConnection> {
  const nc = await connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        onState(false);
        logger.warn({ server: status.server }, 'NATS disconnected; reconnecting');
      } else if (status.type === 'reconnect') {
        onState(true);
        logger.info({ server: status.server }, 'NATS reconnected');
      }
    }
  })();
  return nc;
}
