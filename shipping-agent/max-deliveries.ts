import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ORDERS_STREAM, SHIPPING_CONSUMER } from '../engine/protocol/index.js';
import {
  type DeliveryDeps,
  deadLetterId,
  deadLetterOf,
  parseOrder,
  recordDeadLetter,
  retryWhileEngineAway,
} from './delivery.js';

// JetStream stops redelivering a message after max_deliver and says so only in an advisory. When
// the last delivery ended in our hands we dead-letter it ourselves; when it ended with an agent
// dying (a message that keeps crashing agents, say), this catches it, so no order silently drops
// out of shipping. Every agent hears the advisory: the dead letter's message id and the engine's
// ignoring of a repeated status make the work happen once.

export const MAX_DELIVERIES_ADVISORY = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${ORDERS_STREAM}.${SHIPPING_CONSUMER}`;

interface MaxDeliveriesAdvisory {
  readonly stream_seq?: number;
  readonly deliveries?: number;
}

export function watchMaxDeliveries(
  nc: NatsConnection,
  jsm: JetStreamManager,
  deps: DeliveryDeps,
  logger: Logger,
): Subscription {
  return nc.subscribe(MAX_DELIVERIES_ADVISORY, {
    callback: (error, msg) => {
      if (error !== null) return;
      const advisory = msg.json<MaxDeliveriesAdvisory>();
      if (typeof advisory.stream_seq !== 'number') return;
      void deadLetterAbandoned(jsm, deps, advisory.stream_seq, advisory.deliveries ?? 0).catch(
        (failure: unknown) =>
          logger.error(
            { err: failure, seq: advisory.stream_seq },
            'could not dead-letter an order past max_deliver: check ORDERS by hand',
          ),
      );
    },
  });
}

async function deadLetterAbandoned(
  jsm: JetStreamManager,
  deps: DeliveryDeps,
  seq: number,
  deliveries: number,
): Promise<void> {
  const stored = await jsm.streams.getMessage(ORDERS_STREAM, { seq });
  const order = stored === null ? null : parseOrder(stored);
  if (order === null) return;
  const log = deps.logger.child({ orderId: order.orderId, seq });
  // The advisory comes once: an engine that can't be reached is waited for until the agent stops.
  const current = await retryWhileEngineAway(
    deps,
    Number.POSITIVE_INFINITY,
    () => deps.engine.order(order.orderId),
    (error) => log.warn({ err: error }, 'abandoned message; waiting for the engine'),
  );
  if (current === null || current.trackingId !== null) return; // shipped after all
  const letter = deadLetterOf(order, deliveries, 'deliveries exhausted without an answer');
  const recorded = await recordDeadLetter(letter, deadLetterId(order, seq), deps, log);
  if (!recorded) throw new Error(`order ${order.orderId}: SHIPPING_FAILED not recorded`);
}
