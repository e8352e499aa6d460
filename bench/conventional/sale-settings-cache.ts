import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { SaleRow } from './rows.js';
import { readSale } from './sale-store.js';

// The per-customer limit a request needs before it takes a lock (to check the Redis counter),
// kept in memory for a moment as any web server would, rather than read from PostgreSQL by every
// request. A stale limit can only make that pre-check wrong; the check that decides reads the
// sale again under the lock.

/** How long a sale's settings are reused before they are read again. */
const SALE_SETTINGS_FRESH_MS = 1_000;

interface Cached {
  readonly sale: Promise<SaleRow | null>;
  readonly readAt: number;
}

export class SaleSettingsCache {
  private readonly sales = new Map<string, Cached>();

  constructor(private readonly pool: pg.Pool) {}

  /** Concurrent misses share one read; an unknown sale is not remembered. */
  get(saleId: string): Promise<SaleRow | null> {
    const now = performance.now();
    const cached = this.sales.get(saleId);
    if (cached !== undefined && now - cached.readAt < SALE_SETTINGS_FRESH_MS) return cached.sale;
    const sale = readSale(this.pool, saleId);
    this.sales.set(saleId, { sale, readAt: now });
    sale.then(
      (found) => {
        if (found === null) this.forget(saleId);
      },
      () => this.forget(saleId),
    );
    return sale;
  }

  forget(saleId: string): void {
    this.sales.delete(saleId);
  }
}
