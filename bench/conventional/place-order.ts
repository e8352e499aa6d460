import type pg from 'pg';
import { rejection } from '../../engine/protocol/index.js';
import type { CustomerLocks } from './customer-lock.js';
import { limitRefusal } from './order-rules.js';
import {
  findKeyedOrder,
  type LockedOutcome,
  type OrderRequest,
  placeOrderUnderLock,
} from './order-transaction.js';
import type { PurchaseCounters } from './purchase-counter.js';
import type { SaleSettingsCache } from './sale-settings-cache.js';

// Placing an order the conventional way, step by step:
//   1. reserve the units on the customer's counter in Redis (over the cap → LIMIT_EXCEEDED at
//      once, unless the request is a retry of an order placed earlier with the same key);
//   2. take the customer:sale lock in Redis, waiting a little if another request holds it;
//   3. under the lock, re-check everything in PostgreSQL and commit the order (order-transaction);
//   4. release the lock; give the reservation back unless an order was placed.

export type PlaceOutcome =
  | LockedOutcome
  /** The lock stayed taken for the whole wait: nothing happened, the client may retry. */
  | { readonly kind: 'busy' };

export class OrderDesk {
  constructor(
    private readonly pool: pg.Pool,
    private readonly sales: SaleSettingsCache,
    private readonly counters: PurchaseCounters,
    private readonly locks: CustomerLocks,
  ) {}

  async place(request: OrderRequest): Promise<PlaceOutcome> {
    const { saleId, customerId, quantity } = request;
    const sale = await this.sales.get(saleId);
    if (sale === null) return { kind: 'rejected', rejection: rejection('SALE_NOT_FOUND') };
    const limit = sale.perCustomerLimit;
    const reservation = await this.counters.reserve(saleId, customerId, quantity, limit);
    if (!reservation.ok) {
      const keyed = await findKeyedOrder(this.pool, request);
      return (
        keyed ?? {
          kind: 'rejected',
          rejection: limitRefusal(limit, reservation.held, quantity)!,
        }
      );
    }
    let placed = false;
    try {
      const lock = await this.locks.acquire(saleId, customerId);
      if (lock === null) return { kind: 'busy' };
      try {
        const outcome = await placeOrderUnderLock(this.pool, request, lock.stillValid);
        placed = outcome.kind === 'placed';
        return outcome;
      } finally {
        // A release that fails (Redis gone) must not turn a committed order into an error: the
        // lock then expires by its TTL.
        await lock.release().catch(() => {});
      }
    } finally {
      // Failing to give back leaves the counter high: at worst a false LIMIT_EXCEEDED, never a
      // unit over the cap, which PostgreSQL decides.
      if (!placed) await this.counters.giveBack(saleId, customerId, quantity).catch(() => {});
    }
  }
}
