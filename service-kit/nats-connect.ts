import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { natsServers } from './settings.js';

// Every service's NATS connection, with the same options: retried for ever (a service without
// NATS waits and says so, it doesn't exit), and its ups and downs logged and reported.

export const NATS_RECONNECT_WAIT_MS = 250;

export interface NatsConnectOptions {
  /** NATS_URL: one server, or a comma-separated list of a cluster's. */
  readonly natsUrl: string;
  /** How the server lists this client (`gateway g-1`). */
  readonly name: string;
  readonly logger: Logger;
  /** Hears false on each disconnect and true on each reconnect (readiness). */
  readonly onState?: (connected: boolean) => void;
}

export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: natsServers(options.natsUrl),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
    waitOnFirstConnect: true,
    // The client otherwise builds two Error objects (stack captures) per request, JetStream
    // publishes included: about a tenth of the engine's CPU under a burst, for traces we don't log.
    noAsyncTraces: true,
  });
  void followState(nc, options);
  return nc;
}

async function followState(nc: NatsConnection, { logger, onState }: NatsConnectOptions) {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') {
      onState?.(false);
      logger.warn({ server: status.server }, 'NATS disconnected; reconnecting');
    } else if (status.type === 'reconnect') {
      onState?.(true);
      logger.info({ server: status.server }, 'NATS reconnected');
    }
  }
}
