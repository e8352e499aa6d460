import type { RedisConnection } from './redis-connection.js';

// The conventional design's per-customer counter in Redis: the units a customer holds or has
// in flight in a sale. A request reserves its units with INCRBY before it takes the lock and
// gives them back if it doesn't end in an order, so a customer pressing "buy" many times at once
// is refused here, without waiting for the lock or touching PostgreSQL. It is only a filter:
// Redis keeps nothing on disk, so the cap is re-checked against PostgreSQL under the lock.

/** Counters outlive any sale; Redis forgets them after this long. */
const COUNTER_TTL_S = 24 * 3_600;

export type Reservation =
  | { readonly ok: true }
  /** `held`: units the customer already held or had in flight before this request. */
  | { readonly ok: false; readonly held: number };

export class PurchaseCounters {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keyPrefix: string,
  ) {}

  private key(saleId: string, customerId: string): string {
    return `${this.keyPrefix}:purchased:${saleId}:${customerId}`;
  }

  async reserve(
    saleId: string,
    customerId: string,
    quantity: number,
    limit: number,
  ): Promise<Reservation> {
    const key = this.key(saleId, customerId);
    // Issued in the same tick, so node-redis sends both in one round trip.
    const [total] = await Promise.all([
      this.redis.incrBy(key, quantity),
      this.redis.expire(key, COUNTER_TTL_S),
    ]);
    if (total <= limit) return { ok: true };
    await this.redis.decrBy(key, quantity);
    return { ok: false, held: total - quantity };
  }

  /** Returns units a request reserved but did not buy. */
  async giveBack(saleId: string, customerId: string, quantity: number): Promise<void> {
    await this.redis.decrBy(this.key(saleId, customerId), quantity);
  }
}
