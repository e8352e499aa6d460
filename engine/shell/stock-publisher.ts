import type { NatsConnection } from '@nats-io/transport-node';
import { encodeMessage, type StockMessage } from '../protocol/messages.js';
import { saleStockSubject } from '../protocol/subjects.js';

// Stock changes, coalesced: a burst of 10,000 orders marks the sale dirty 10,000 times but
// publishes at most once per interval, always the latest value (the trailing edge is never
// dropped). A slow heartbeat re-publishes every sale, so a gateway that missed a message (or
// started late) converges without asking.

export const STOCK_HEARTBEAT_MS = 5_000;

export type StockReader = (saleId: string) => StockMessage | null;

export class StockPublisher {
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly read: StockReader,
    private readonly sales: () => Iterable<string>,
    private readonly intervalMs: number,
  ) {
    this.heartbeat = setInterval(() => {
      for (const saleId of this.sales()) this.dirty.add(saleId);
      this.flush();
    }, STOCK_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  markDirty(saleId: string): void {
    this.dirty.add(saleId);
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
      const message = this.read(saleId);
      if (message !== null && !this.nc.isClosed()) {
        this.nc.publish(saleStockSubject(saleId), encodeMessage(message));
      }
    }
    this.dirty.clear();
  }
}
