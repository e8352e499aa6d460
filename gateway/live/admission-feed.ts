import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeAdmissionsMessage } from '../../engine/protocol/index.js';

// Admissions for `/v1/me/live`: one wildcard subscription to `sale.*.admissions` while at least
// one customer socket is open on this gateway, routed to that customer's sockets (as the order
// status feed is). Subscribed before the status feed's flush, which confirms both.

export const ADMISSIONS_WILDCARD = 'sale.*.admissions';

/** What a customer is told: let in (until when), or the queue closed while they waited. */
export type AdmissionNotice =
  | { readonly state: 'ADMITTED'; readonly admittedUntil: number }
  | { readonly state: 'CLOSED' };

export type AdmissionListener = (saleId: string, notice: AdmissionNotice) => void;

export class AdmissionFeed {
  private readonly byCustomer = new Map<string, Set<AdmissionListener>>();
  private subscription: Subscription | null = null;

  constructor(private readonly nc: NatsConnection) {}

  listen(customerId: string, listener: AdmissionListener): () => void {
    let listeners = this.byCustomer.get(customerId);
    if (listeners === undefined) {
      listeners = new Set();
      this.byCustomer.set(customerId, listeners);
    }
    listeners.add(listener);
    this.subscription ??= this.nc.subscribe(ADMISSIONS_WILDCARD, {
      callback: (error, msg) => {
        if (error === null) this.route(msg.data);
      },
    });
    return () => this.remove(customerId, listener);
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.byCustomer.clear();
  }

  private remove(customerId: string, listener: AdmissionListener): void {
    const set = this.byCustomer.get(customerId);
    set?.delete(listener);
    if (set?.size === 0) this.byCustomer.delete(customerId);
    if (this.byCustomer.size === 0 && this.subscription !== null) {
      this.subscription.unsubscribe();
      this.subscription = null;
    }
  }

  private route(data: Uint8Array): void {
    const message = decodeAdmissionsMessage(data);
    if (message === null) return;
    for (const { customerId, admittedUntil } of message.admissions)
      this.tell(customerId, message.saleId, { state: 'ADMITTED', admittedUntil });
    for (const customerId of message.closed ?? [])
      this.tell(customerId, message.saleId, { state: 'CLOSED' });
  }

  private tell(customerId: string, saleId: string, notice: AdmissionNotice): void {
    for (const listener of this.byCustomer.get(customerId) ?? []) listener(saleId, notice);
  }
}
