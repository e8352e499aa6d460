import type { NatsConnection } from '@nats-io/transport-node';
import { encodeMessage, type StockMessage } from '../protocol/messages.js';
import { saleStockSubject } from '../protocol/subjects.js';

// Stock changes, coalesced: a burst of 10,000 orders brings 10,000 new values but publishes at
// most once per interval, always the latest (the trailing edge is never dropped). Every value is
// one the WAL holds (the actor hands them over once their batch is durable): a gateway refuses
// SOLD_OUT on it. A slow heartbeat re-publishes every sale's latest, so a gateway that missed a
// message (or started late) converges without asking.

export const STOCK_HEARTBEAT_MS = 5_000;

export class StockPublisher {
  private readonly latest = new Map<string, StockMessage>();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;

  /** `recovered`: each sale's stock at start, all of it durable. */
  constructor(
    private readonly nc: NatsConnection,
    recovered: Iterable<StockMessage>,
    private readonly intervalMs: number,
  ) {
    for (const message of recovered) this.latest.set(message.saleId, message);
    this.heartbeat = setInterval(() => {
      for (const saleId of this.latest.keys()) this.dirty.add(saleId);
      this.flush();
    }, STOCK_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  update(message: StockMessage): void {
    this.latest.set(message.saleId, message);
    this.dirty.add(message.saleId);
    if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), this.intervalMs);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.flush();
  }

  private flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const saleId of this.dirty) {
      const message = this.latest.get(saleId);
      if (message !== undefined && !this.nc.isClosed())
        this.nc.publish(saleStockSubject(saleId), encodeMessage(message));
    }
    this.dirty.clear();
  }
}
