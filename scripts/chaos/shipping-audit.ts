import type { OrderView } from '../../engine/protocol/index.js';
import { readDeadLetters } from '../client/dead-letters.js';
import type { ChaosNats } from './nats-link.js';
import type { Settled } from './shipping-settle.js';

// The shipping half of the chaos run's audit: what the carrier shipped and what was dead-lettered,
// order by order, with what the dead letters said.

export interface ShippingInput {
  readonly link: ChaosNats;
  readonly carrierStats: () => Promise<{ readonly byOrder: Readonly<Record<string, number>> }>;
  readonly settled: Settled;
}

/**
 * Every order the engine holds against the carrier's book and the dead letters: shipped exactly
 * once with a tracking id (I4), or dead-lettered visibly, or still pending after the settle wait;
 * and no shipment of an order nobody holds.
 */
export async function auditShipping(input: ShippingInput, orders: readonly OrderView[]) {
  const { byOrder } = await input.carrierStats();
  await input.link.connected();
  const letters = await readDeadLetters(input.link.nc);
  const dead = new Map(letters.map((letter) => [letter.orderId, letter.reason]));
  const deadLetterReasons: Record<string, number> = {};
  for (const { reason } of letters)
    deadLetterReasons[reason] = (deadLetterReasons[reason] ?? 0) + 1;
  const pending = new Set(input.settled.pending);
  const known = new Set(orders.map((o) => o.orderId));
  const shippedFound: string[] = [];
  const deadFound: string[] = [];
  const pendingFound: string[] = [];
  let shipped = 0;
  let deadLettered = 0;
  let deadLetteredShipped = 0;
  for (const order of orders) {
    const shipments = byOrder[order.orderId] ?? 0;
    if (order.status === 'SHIPPING_REQUESTED') {
      shipped += 1;
      if (shipments !== 1)
        shippedFound.push(`I4: ${order.orderId} has ${shipments} shipments at the carrier`);
      if (order.trackingId === null)
        shippedFound.push(`${order.orderId} is SHIPPING_REQUESTED without a tracking id`);
    } else if (order.status === 'SHIPPING_FAILED') {
      deadLettered += 1;
      if (shipments === 1) deadLetteredShipped += 1;
      if (!dead.has(order.orderId))
        deadFound.push(`${order.orderId} is SHIPPING_FAILED but not in ORDERS_DLQ`);
      if (shipments > 1)
        deadFound.push(`I4: dead-lettered ${order.orderId} has ${shipments} shipments`);
    } else {
      const letter = dead.get(order.orderId);
      pendingFound.push(
        `${order.orderId} still ${order.status} after the settle wait` +
          (pending.has(order.orderId) ? '' : ' (appeared after the wait)') +
          (letter === undefined ? '' : ` although dead-lettered ("${letter}")`),
      );
    }
  }
  const carrierFound: string[] = [];
  let carrierTotal = 0;
  for (const [orderId, count] of Object.entries(byOrder)) {
    carrierTotal += count;
    if (!known.has(orderId)) carrierFound.push(`the carrier shipped unknown order ${orderId}`);
  }
  return {
    shipped,
    deadLettered,
    deadLetteredShipped,
    deadLetterReasons,
    carrierTotal,
    shippedFound,
    deadFound,
    pendingFound,
    carrierFound,
  };
}
