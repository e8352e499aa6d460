import { type Rejection, rejection } from '../../engine/protocol/index.js';

// The order rules of the conventional server, checked in the engine's order (window, stock,
// cap) on what it read from PostgreSQL under the customer's lock, so both systems refuse the
// same request with the same code. PostgreSQL's `remaining >= q` stays the last word on stock.

export interface OrderSnapshot {
  readonly remaining: number;
  readonly perCustomerLimit: number;
  readonly startsAt: number | null;
  readonly endsAt: number | null;
  /** Units the customer already bought in this sale. */
  readonly purchased: number;
}

export function refusalOf(snapshot: OrderSnapshot, quantity: number, at: number): Rejection | null {
  const { remaining, perCustomerLimit, startsAt, endsAt, purchased } = snapshot;
  if ((startsAt !== null && at < startsAt) || (endsAt !== null && at >= endsAt))
    return rejection('SALE_NOT_OPEN');
  return stockRefusal(remaining, quantity) ?? limitRefusal(perCustomerLimit, purchased, quantity);
}

export function stockRefusal(remaining: number, quantity: number): Rejection | null {
  if (remaining === 0) return rejection('SOLD_OUT');
  if (quantity > remaining)
    return rejection('INSUFFICIENT_STOCK', `Only ${remaining} left; no partial orders.`, {
      remaining,
    });
  return null;
}

export function limitRefusal(limit: number, purchased: number, quantity: number): Rejection | null {
  if (purchased + quantity <= limit) return null;
  return rejection(
    'LIMIT_EXCEEDED',
    `At most ${limit} per customer; you already have ${purchased}.`,
    { limit, purchased },
  );
}
