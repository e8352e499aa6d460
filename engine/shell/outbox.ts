import type { Logger } from 'pino';
import { ORDERS_STREAM } from '../protocol/subjects.js';
import type { StreamPublish } from './acked-publisher.js';
import { OutboxQueue } from './outbox-queue.js';
import type { WatermarkFile } from './watermark-file.js';

// The outbox (I4): every confirmed order goes to JetStream `ORDERS` after it is durable in the
// WAL, with Nats-Msg-Id = orderId so that re-publishing (retries, replay after a crash) is
// de-duplicated by the server. JetStream being down never blocks accepting orders: messages wait
// here, bounded, and go out when it returns.

export const OUTBOX_INFLIGHT_MAX = 256;
export const OUTBOX_PUBLISH_TIMEOUT_MS = 5_000;
export const OUTBOX_RETRY_DELAY_MS_MIN = 100;
export const OUTBOX_RETRY_DELAY_MS_MAX = 5_000;
export const WATERMARK_PERSIST_INTERVAL_MS = 250;

export interface OutboxMessage {
  readonly lsn: number;
  readonly subject: string;
  readonly msgId: string;
  readonly data: Uint8Array;
}

export interface OutboxOptions {
  /** Resolves once JetStream has stored the message (see acked-publisher.ts). */
  readonly publish: (message: StreamPublish) => Promise<void>;
  readonly logger: Logger;
  readonly watermarkFile: WatermarkFile;
  /** Everything at or below this lsn was acknowledged before (read from the watermark file). */
  readonly watermark: number;
  readonly backlogMax: number;
}

export class Outbox {
  /** Unacknowledged messages by lsn; a Map keeps insertion (= lsn) order. */
  private readonly pending = new Map<number, OutboxMessage>();
  /** Waiting to be sent: LSN order, except that failed sends go back in front. */
  private readonly ready = new OutboxQueue<OutboxMessage>();
  private inflight = 0;
  private highestLsn: number;
  private persistedWatermark: number;
  private retryDelayMs = OUTBOX_RETRY_DELAY_MS_MIN;
  private retryTimer: NodeJS.Timeout | null = null;
  private persistTimer: NodeJS.Timeout | null = null;
  private persisting: Promise<void> = Promise.resolve();
  private failures = 0;
  private readonly totals = { published: 0, publishFailures: 0 };
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: OutboxOptions) {
    this.highestLsn = options.watermark;
    this.persistedWatermark = options.watermark;
  }

  get backlog(): number {
    return this.pending.size;
  }

  /** Running totals since start, for metrics. */
  get stats(): { readonly published: number; readonly publishFailures: number } {
    return { ...this.totals };
  }

  get isFull(): boolean {
    return this.pending.size >= this.options.backlogMax;
  }

  /** Every message with lsn <= this was acknowledged by JetStream. */
  get watermark(): number {
    const first = this.pending.keys().next();
    return first.done ? this.highestLsn : first.value - 1;
  }

  enqueue(messages: readonly OutboxMessage[]): void {
    for (const message of messages) {
      if (message.lsn <= this.options.watermark) continue;
      if (this.pending.has(message.lsn)) continue;
      this.pending.set(message.lsn, message);
      this.ready.pushBack(message);
      this.highestLsn = Math.max(this.highestLsn, message.lsn);
    }
    this.pump();
  }

  pendingMessages(): Iterable<OutboxMessage> {
    return this.pending.values();
  }

  /** Resolves once nothing is pending (for tests and graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    await this.persistWatermark();
  }

  private pump(): void {
    while (!this.closed && this.retryTimer === null && this.inflight < OUTBOX_INFLIGHT_MAX) {
      const message = this.ready.takeFront();
      if (message === undefined) return;
      this.inflight += 1;
      void this.send(message);
    }
  }

  private async send(message: OutboxMessage): Promise<void> {
    try {
      await this.options.publish({ ...message, stream: ORDERS_STREAM });
      this.acknowledged(message);
    } catch (error) {
      this.failed(message, error);
    } finally {
      this.inflight -= 1;
      this.pump();
    }
  }

  private acknowledged(message: OutboxMessage): void {
    this.pending.delete(message.lsn);
    this.totals.published += 1;
    if (this.failures > 0) {
      this.options.logger.info(
        { backlog: this.pending.size, failures: this.failures },
        'outbox publishing again',
      );
      this.failures = 0;
    }
    this.retryDelayMs = OUTBOX_RETRY_DELAY_MS_MIN;
    this.schedulePersist();
    if (this.pending.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private failed(message: OutboxMessage, error: unknown): void {
    this.ready.pushFront(message);
    this.failures += 1;
    this.totals.publishFailures += 1;
    // One line per back-off step, not per message: an outage must not flood the log.
    if (this.retryTimer === null && !this.closed) {
      this.options.logger.warn(
        { backlog: this.pending.size, retryInMs: this.retryDelayMs, err: (error as Error).message },
        'outbox cannot reach JetStream; orders are kept and will be published',
      );
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.pump();
      }, this.retryDelayMs);
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, OUTBOX_RETRY_DELAY_MS_MAX);
    }
  }

  private schedulePersist(): void {
    if (this.persistTimer !== null || this.closed) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      void this.persistWatermark();
    }, WATERMARK_PERSIST_INTERVAL_MS);
  }

  private persistWatermark(): Promise<void> {
    this.persisting = this.persisting.then(async () => {
      const watermark = this.watermark;
      if (watermark <= this.persistedWatermark) return;
      try {
        await this.options.watermarkFile.write(watermark);
        this.persistedWatermark = watermark;
      } catch (error) {
        this.options.logger.error({ err: error }, 'cannot persist the outbox watermark');
      }
    });
    return this.persisting;
  }
}
