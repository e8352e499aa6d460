import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ORDERS_STREAM, SHIPPING_CONSUMER } from '../engine/protocol/index.js';
import { type DeliveryDeps, deadLetterId, parseOrder, retryWhileEngineAway } from './delivery.js';

// JetStream stops redelivering a message after max_deliver and says so only in an advisory. When
// the last delivery ended in our hands we dead-letter it ourselves; when it ended with an agent
// dying (a message that keeps crashing agents, say), this catches it, so no order silently drops
// out of shipping. Every agent hears the advisory: the dead letter's message id and the engine's
// ignoring of a repeated status make the work happen once. The advisory comes once, so an engine
// that can't be reached is waited for until the agent stops.

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
      const seq = advisory.stream_seq;
      void retryWhileEngineAway(deps, Number.POSITIVE_INFINITY, () =>
        deadLetterAbandoned(jsm, deps, seq, advisory.deliveries ?? 0),
      ).catch((failure: unknown) =>
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
  const current = await deps.engine.order(order.orderId);
  if (current === null || current.trackingId !== null) return; // shipped after all
  await deps.deadLetter(
    { ...order, deliveries, reason: 'deliveries exhausted without an answer', at: Date.now() },
    deadLetterId(order, seq),
  );
  const { order: failed, changed } = await deps.engine.report(order.orderId, 'SHIPPING_FAILED', {
    message: 'The carrier could not take the shipment; our team will arrange it.',
  });
  if (changed) await deps.notifier.notify(failed);
  deps.logger.error(
    { orderId: order.orderId, deliveries },
    'shipment dead-lettered: operator action needed (npm run replay-dead-letters)',
  );
}
