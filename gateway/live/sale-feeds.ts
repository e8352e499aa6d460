import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decodeStockMessage,
  type StockMessage,
  saleStockSubject,
} from '../../engine/protocol/index.js';

// One NATS subscription per sale per gateway to `sale.<id>.stock`: it keeps the latest stock
// (the sold-out fast path reads it) and fans each change out to this gateway's live sockets.
// A feed is opened only for a sale the engine has confirmed exists, so random saleIds in URLs
// can't make the gateway subscribe without bound.

/** Sales a gateway follows at most; past it, requests still work, just without the cache. */
export const SALE_FEEDS_MAX = 10_000;

export type StockListener = (message: StockMessage) => void;

interface Feed {
  latest: StockMessage | null;
  readonly subscription: Subscription;
  readonly listeners: Set<StockListener>;
}

export class SaleFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly nc: NatsConnection) {}

  get size(): number {
    return this.feeds.size;
  }

  /** The last stock value seen for the sale, or null when not followed or nothing seen yet. */
  latest(saleId: string): StockMessage | null {
    return this.feeds.get(saleId)?.latest ?? null;
  }

  /** True only when the engine has said so: the gateway may then answer SOLD_OUT itself. */
  isSoldOut(saleId: string): boolean {
    return this.feeds.get(saleId)?.latest?.remaining === 0;
  }

  /**
   * Starts following a sale known to exist. `seen` is a value the engine answered with just now:
   * it replaces the cache when it shows more left (a stock raise must not be refused SOLD_OUT
   * until the next publication). It never lowers it: a reply can be handled after a newer
   * publication, and only publications, which come in order, may bring the sale to sold out.
   * Returns true when this call opened the feed.
   */
  follow(saleId: string, seen?: StockMessage): boolean {
    let feed = this.feeds.get(saleId);
    const created = feed === undefined;
    if (feed === undefined) {
      if (this.feeds.size >= SALE_FEEDS_MAX) return false;
      const fresh: Feed = {
        latest: null,
        listeners: new Set(),
        subscription: this.nc.subscribe(saleStockSubject(saleId), {
          callback: (error, msg) => {
            if (error !== null) return;
            const message = parseStock(msg.data, saleId);
            if (message === null) return;
            fresh.latest = message;
            for (const listener of fresh.listeners) listener(message);
          },
        }),
      };
      feed = fresh;
      this.feeds.set(saleId, feed);
    }
    if (seen !== undefined && (feed.latest === null || seen.remaining > feed.latest.remaining))
      feed.latest = seen;
    return created;
  }

  /** Calls `listener` on every change of a followed sale; returns the way to stop. */
  listen(saleId: string, listener: StockListener): () => void {
    const feed = this.feeds.get(saleId);
    if (feed === undefined) return () => undefined;
    feed.listeners.add(listener);
    return () => feed.listeners.delete(listener);
  }

  close(): void {
    for (const feed of this.feeds.values()) feed.subscription.unsubscribe();
    this.feeds.clear();
  }
}

/** A stock message of this sale, or null (another sale's, or not one at all: dropped). */
function parseStock(data: Uint8Array, saleId: string): StockMessage | null {
  const message = decodeStockMessage(data);
  return message?.saleId === saleId ? message : null;
}
