import type { Rejection } from './errors.js';
import { ORDER_ID_SEPARATOR } from './order-id.js';
import type { QueueCommand, QueueEvent, QueueOutcome, QueueState } from './queue-types.js';

export type * from './queue-types.js';

// Commands, events and state of the decision core. Times are milliseconds since the epoch and
// always arrive inside a command: the core never reads a clock.

export type ShippingStatus = 'SHIPPING_DELAYED' | 'SHIPPING_REQUESTED' | 'SHIPPING_FAILED';
export type OrderStatus = 'CONFIRMED' | ShippingStatus;
export type SaleStatus = 'SCHEDULED' | 'OPEN' | 'SOLD_OUT' | 'ENDED';

export interface SaleSettings {
  readonly name: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly startsAt: number | null;
  readonly endsAt: number | null;
  /** Absent for a sale without one: its events, snapshots and replies stay as they were. */
  readonly waitingRoom?: WaitingRoomSettings;
}

/** A sale's waiting room (DESIGN.md, "Waiting room"): the draw is at the sale's startsAt. */
export interface WaitingRoomSettings {
  readonly lobbyOpensAt: number;
  readonly admitPerSecond: number;
  readonly admissionTtlS: number;
}

/**
 * Where a sale's order sequences start, set when the sale is created: 1 in the sale's first home;
 * above every sequence an earlier home could have used in a sale adopted onto another WAL
 * (sale-homes.ts), so no orderId is ever given twice (I4: JetStream and the carrier key on it).
 */
export interface OrderNumbering {
  readonly firstOrderSequence?: number;
}

export type Command =
  | QueueCommand
  | (Readonly<{ type: 'ConfigureSale'; saleId: string; at: number }> &
      SaleSettings &
      OrderNumbering)
  | Readonly<{
      type: 'PlaceOrder';
      saleId: string;
      customerId: string;
      quantity: number;
      /** Client-chosen key scoped to (sale, customer); null when the client sent none. */
      idempotencyKey: string | null;
      /** Digest of the request's meaningful fields, computed by the gateway. */
      requestHash: string | null;
      at: number;
    }>
  | Readonly<{
      type: 'RecordShippingStatus';
      orderId: string;
      status: ShippingStatus;
      trackingId: string | null;
      message: string | null;
      at: number;
    }>;

export type Event =
  | QueueEvent
  | (Readonly<{ type: 'SaleConfigured'; saleId: string; at: number }> &
      SaleSettings &
      OrderNumbering)
  | Readonly<{
      type: 'OrderPlaced';
      orderId: string;
      saleId: string;
      customerId: string;
      quantity: number;
      idempotencyKey: string | null;
      requestHash: string | null;
      at: number;
    }>
  | Readonly<{
      type: 'ShippingStatusRecorded';
      orderId: string;
      status: ShippingStatus;
      trackingId: string | null;
      message: string | null;
      at: number;
    }>;

/** What a successful decision means for the caller, beyond the events it produced. */
export type Outcome =
  | QueueOutcome
  | Readonly<{ type: 'SaleConfigured'; saleId: string; created: boolean }>
  | Readonly<{ type: 'OrderPlaced'; orderId: string; replayed: boolean }>
  | Readonly<{ type: 'ShippingStatusRecorded'; orderId: string; changed: boolean }>;

export type Decision =
  | Readonly<{ ok: true; events: readonly Event[]; outcome: Outcome }>
  | Readonly<{ ok: false; rejection: Rejection }>;

export interface HistoryEntry {
  readonly status: OrderStatus;
  readonly at: number;
  readonly message: string | null;
}

// State is owned by one actor and changed only by `evolve`, in place: copying maps of a million
// orders per event would cost far more than the decision itself. `decide` never writes to it.
export interface OrderState {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly createdAt: number;
  readonly idempotencyKey: string | null;
  readonly requestHash: string | null;
  status: OrderStatus;
  trackingId: string | null;
  readonly history: HistoryEntry[];
}

export interface CustomerState {
  purchased: number;
  readonly orderIds: string[];
}

export interface SaleState {
  readonly saleId: string;
  /** The waiting room's queue, from the moment its lobby opened; null before (or without one). */
  queue: QueueState | null;
  settings: SaleSettings;
  createdAt: number;
  updatedAt: number;
  sold: number;
  /** Sequence of the sale's first order (OrderNumbering); 1 unless the sale was adopted. */
  readonly firstOrderSequence: number;
  /** Sequence of the last order placed; the next orderId uses lastOrderSequence + 1. */
  lastOrderSequence: number;
  readonly customers: Map<string, CustomerState>;
  /** `customerId + NUL + idempotencyKey` → orderId. */
  readonly idempotency: Map<string, string>;
  /**
   * The sale's orders by sequence: `orders[n - firstOrderSequence]` is `<saleId>~<n>`. An orderId carries its
   * sale and sequence, so no map of a million orderIds is needed (one string hash and one insert
   * less per order, live and on recovery). Orders are never removed.
   */
  readonly orders: OrderState[];
}

export interface EngineState {
  readonly sales: Map<string, SaleState>;
}

export function initialState(): EngineState {
  return { sales: new Map() };
}

/** The order with this id, through its sale and sequence; undefined when there is none. */
export function orderOf(state: EngineState, orderId: string): OrderState | undefined {
  const cut = orderId.indexOf(ORDER_ID_SEPARATOR);
  if (cut < 0) return undefined;
  const sale = state.sales.get(orderId.slice(0, cut));
  if (sale === undefined) return undefined;
  const order = sale.orders[Number(orderId.slice(cut + 1)) - sale.firstOrderSequence];
  // `a~01` or `a~1.0` name no order, though Number reads both as 1.
  return order?.orderId === orderId ? order : undefined;
}

export function orderCount(state: EngineState): number {
  let count = 0;
  for (const sale of state.sales.values()) count += sale.orders.length;
  return count;
}

export function idempotencyIndexKey(customerId: string, idempotencyKey: string): string {
  return `${customerId}\u0000${idempotencyKey}`;
}
