import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decodeQueueMessage,
  type QueueMessage,
  saleQueueSubject,
} from '../../engine/protocol/index.js';

// The waiting room's queue message (`sale.<id>.queue`, a few a second, the same for everyone),
// fanned out to the sale's live sockets: one subscription per followed sale per gateway, however
// many sockets follow it, so the gateway's work grows with sockets × messages, never with the
// number waiting. Opened only for sales the engine confirmed (as the stock feeds are).

export const QUEUE_FEEDS_MAX = 10_000;

export type QueueListener = (message: QueueMessage) => void;

interface Feed {
  latest: QueueMessage | null;
  readonly subscription: Subscription;
  readonly listeners: Set<QueueListener>;
}

export class QueueFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly nc: NatsConnection) {}

  latest(saleId: string): QueueMessage | null {
    return this.feeds.get(saleId)?.latest ?? null;
  }

  /** Calls `listener` with every queue message of the sale; returns the way to stop. */
  listen(saleId: string, listener: QueueListener): () => void {
    const feed = this.follow(saleId);
    if (feed === null) return () => undefined;
    feed.listeners.add(listener);
    return () => feed.listeners.delete(listener);
  }

  close(): void {
    for (const feed of this.feeds.values()) feed.subscription.unsubscribe();
    this.feeds.clear();
  }

  private follow(saleId: string): Feed | null {
    const known = this.feeds.get(saleId);
    if (known !== undefined) return known;
    if (this.feeds.size >= QUEUE_FEEDS_MAX) return null;
    const feed: Feed = {
      latest: null,
      listeners: new Set(),
      subscription: this.nc.subscribe(saleQueueSubject(saleId), {
        callback: (error, msg) => {
          if (error !== null) return;
          const message = decodeQueueMessage(msg.data);
          if (message?.saleId !== saleId) return;
          feed.latest = message;
          for (const listener of feed.listeners) listener(message);
        },
      }),
    };
    this.feeds.set(saleId, feed);
    return feed;
  }
}
