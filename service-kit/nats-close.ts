import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

/**
 * Drains the connection (subscriptions finish what they hold, pending publishes are flushed), or
 * closes it when it can't drain: with NATS down a drain can only fail, and every service calls
 * this only once nothing it owes depends on NATS any more.
 */
export async function drainOrClose(nc: NatsConnection, logger: Logger): Promise<void> {
  await nc.drain().catch((error: unknown) => {
    logger.warn({ err: (error as Error).message }, 'NATS did not drain; closing the connection');
    return nc.close();
  });
}
