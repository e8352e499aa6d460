import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type CatalogueEntry,
  decodeCatalogueEntry,
  decodeReply,
  encodeMessage,
  type PlaceSaleReply,
  POOL_PLACE_SUBJECT,
  SALE_CATALOGUE_BUCKET,
} from '../engine/protocol/index.js';

// The gateway's reading of the sale catalogue (engine/protocol/catalogue.ts): whether a sale whose
// subjects nobody answers exists at all (SALE_NOT_FOUND) or only has no engine now
// (ENGINE_UNAVAILABLE), the list for `GET /v1/sales`, and the request that places a new sale.

/**
 * "Not in the catalogue" is believed this long (DESIGN.md: at most 1 s), so a sale takes orders
 * within a second of its creation through another gateway. "In it" is believed for ever: a sale
 * is never removed.
 */
export const NOT_FOUND_CACHE_MS = 1_000;
/** Sales remembered as existing, at most (beyond, they are read again: still correct). */
const KNOWN_SALES_MAX = 100_000;
/** Sales `GET /v1/sales` lists at most. */
export const SALES_LISTED_MAX = 1_000;
const PLACE_TIMEOUT_MS = 5_000;

export class SaleCatalogueReader {
  private bucket: Promise<KV> | null = null;
  private readonly known = new Set<string>();
  private readonly absentUntil = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the sale exists, false when it was never created, null when we can't tell now. */
  async exists(saleId: string): Promise<boolean | null> {
    if (this.known.has(saleId)) return true;
    if ((this.absentUntil.get(saleId) ?? 0) > this.now()) return false;
    let found: boolean;
    try {
      found = (await this.read(saleId)) !== null;
    } catch {
      return null;
    }
    if (found) {
      if (this.known.size < KNOWN_SALES_MAX) this.known.add(saleId);
      this.absentUntil.delete(saleId);
    } else {
      if (this.absentUntil.size >= KNOWN_SALES_MAX) this.absentUntil.clear();
      this.absentUntil.set(saleId, this.now() + NOT_FOUND_CACHE_MS);
    }
    return found;
  }

  /** Asks the pool to place the sale (or to say where it already is). */
  async place(saleId: string): Promise<PlaceSaleReply> {
    const msg = await this.nc.request(
      POOL_PLACE_SUBJECT,
      encodeMessage({ type: 'PlaceSale', saleId }),
      { timeout: PLACE_TIMEOUT_MS },
    );
    this.absentUntil.delete(saleId);
    return decodeReply<PlaceSaleReply>(msg.data);
  }

  /** Every sale in the catalogue, up to SALES_LISTED_MAX, by saleId. */
  async list(): Promise<CatalogueEntry[]> {
    const kv = await this.kv();
    const entries: CatalogueEntry[] = [];
    for await (const saleId of await kv.keys()) {
      if (entries.length >= SALES_LISTED_MAX) break;
      const entry = await this.read(saleId);
      if (entry !== null) entries.push(entry);
    }
    return entries.sort((a, b) => a.saleId.localeCompare(b.saleId));
  }

  private async read(saleId: string): Promise<CatalogueEntry | null> {
    const entry = await (await this.kv()).get(saleId);
    return entry?.operation === 'PUT' ? decodeCatalogueEntry(entry.value) : null;
  }

  /** Bound on first use; a failure is forgotten so the next call tries again. */
  private kv(): Promise<KV> {
    if (this.bucket === null) {
      const opening = new Kvm(this.nc).open(SALE_CATALOGUE_BUCKET);
      this.bucket = opening;
      opening.catch(() => {
        if (this.bucket === opening) this.bucket = null;
      });
    }
    return this.bucket;
  }
}
