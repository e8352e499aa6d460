// What an audit reads back at the end of a run, whatever the transport (HTTP through the gateways,
// the engine's queries over NATS), and what the run's client knows: the orders it was told exist
// and the requests whose outcome it never learned. The checks (invariants.ts) take this and
// nothing else, so every tool checks I1-I3 the same way.

/** An order as its customer's holdings list it. */
export interface HeldOrder {
  readonly orderId: string;
  readonly quantity: number;
  /** When the reader has them: an order listed under another customer or sale is a breach. */
  readonly customerId?: string;
  readonly saleId?: string;
}

/** What one customer holds in the sale: the counter and the orders behind it. */
export interface Holding {
  readonly customerId: string;
  readonly purchased: number;
  readonly orders: readonly HeldOrder[];
}

/** An order the client was told exists (201, or 200 for a replay of its key). */
export interface AcknowledgedOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly quantity: number;
}

/** An acknowledged order read back on its own (GET /v1/orders/:id, the engine's GetOrder). */
export type ReadBack =
  | {
      readonly kind: 'found';
      readonly customerId: string;
      readonly quantity: number;
      readonly saleId?: string;
    }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unread'; readonly reason: string };

/** The sale's counters as read at the end, or why they could not be read. */
export type SaleCounters =
  | {
      readonly stock: number;
      readonly remaining: number;
      /** OPEN, SOLD_OUT...: where the reader has it. */
      readonly status?: string;
    }
  | { readonly unread: string };

/** A customer the reader could not read, and why. */
export interface UnreadCustomer {
  readonly customerId: string;
  readonly reason: string;
}

/** What a reader brings back for one sale. */
export interface SaleRead {
  readonly sale: SaleCounters;
  readonly holdings: readonly Holding[];
  readonly unreadCustomers: readonly UnreadCustomer[];
}

/** Everything an audit of one sale goes on. */
export interface SaleReading extends SaleRead {
  readonly saleId: string;
  /** As the run set the sale up; `soldBefore`: units others had bought before the run. */
  readonly configured: {
    readonly stock: number;
    readonly perCustomerLimit: number;
    readonly soldBefore: number;
  };
  /**
   * Whether the holdings (and unread customers) are every customer who may hold units of the run,
   * so that their orders must add up to the units sold. False when a run reads a sample.
   */
  readonly everyBuyerRead: boolean;
  readonly acknowledged: readonly AcknowledgedOrder[];
  /**
   * Units acknowledged in all. More than `acknowledged` adds up to when the run counted some
   * 201s by their status alone (bench:compare's steady load keeps a sample of bodies); by
   * default, the sum of `acknowledged`.
   */
  readonly acknowledgedUnits?: number;
  /** Units asked for by requests whose outcome the client never learned, per customer. */
  readonly unknownUnits: ReadonlyMap<string, number>;
  /** Acknowledged orders read back one by one, by order id, when the tool does. */
  readonly readBack?: ReadonlyMap<string, ReadBack>;
}

/** Adds `units` to `customerId`'s count: the tools' unknown units, built as replies come. */
export function addUnits(units: Map<string, number>, customerId: string, quantity: number): void {
  units.set(customerId, (units.get(customerId) ?? 0) + quantity);
}
