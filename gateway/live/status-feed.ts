import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeOrderStatusMessage, type OrderStatusChange } from '../../engine/protocol/index.js';

// Order status changes for `/v1/me/live`: one wildcard subscription to `orders.status.*` while at
// least one customer socket is open on this gateway, routed to that customer's sockets.

export const ORDERS_STATUS_WILDCARD = 'orders.status.*';

export type StatusListener = (saleId: string, change: OrderStatusChange) => void;

export class StatusFeed {
  private readonly byCustomer = new Map<string, Set<StatusListener>>();
  private subscription: Subscription | null = null;
  /**
   * Settles once the server has the subscription; null until it is asked (again). Every listener
   * waits for it, not only the one that subscribed: a socket opened meanwhile must not be told
   * "ready" before it is true.
   */
  private registered: Promise<void> | null = null;

  constructor(private readonly nc: NatsConnection) {}

  /**
   * Resolves once the subscription is registered with the server, then returns the way to stop.
   * Rejects (the listener removed) when NATS could not confirm it, e.g. it went away meanwhile.
   */
  async listen(customerId: string, listener: StatusListener): Promise<() => void> {
    let listeners = this.byCustomer.get(customerId);
    if (listeners === undefined) {
      listeners = new Set();
      this.byCustomer.set(customerId, listeners);
    }
    listeners.add(listener);
    const stop = () => this.remove(customerId, listener);
    if (this.subscription === null) {
      this.subscription = this.nc.subscribe(ORDERS_STATUS_WILDCARD, {
        callback: (error, msg) => {
          if (error === null) this.route(msg.data);
        },
      });
      this.registered = null;
    }
    try {
      await this.registration();
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  /**
   * The server's confirmation of the subscription. A flush that failed (NATS went away and
   * nats.js dropped the pending ping when it reconnected) proves nothing either way, so it is
   * forgotten and the next socket asks again; keeping it would refuse every socket from then on.
   */
  private registration(): Promise<void> {
    if (this.registered === null) {
      const flushing = this.nc.flush();
      this.registered = flushing;
      flushing.catch(() => {
        if (this.registered === flushing) this.registered = null;
      });
    }
    return this.registered;
  }

  private remove(customerId: string, listener: StatusListener): void {
    const set = this.byCustomer.get(customerId);
    set?.delete(listener);
    if (set?.size === 0) this.byCustomer.delete(customerId);
    if (this.byCustomer.size === 0 && this.subscription !== null) {
      this.subscription.unsubscribe();
      this.subscription = null;
    }
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.byCustomer.clear();
  }

  private route(data: Uint8Array): void {
    const message = decodeOrderStatusMessage(data);
    if (message === null) return;
    for (const change of message.changes) {
      const listeners = this.byCustomer.get(change.customerId);
      if (listeners !== undefined)
        for (const listener of listeners) listener(message.saleId, change);
    }
  }
}
