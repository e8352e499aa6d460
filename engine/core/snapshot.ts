import { addOrder } from './evolve.js';
import {
  type EngineState,
  type HistoryEntry,
  initialState,
  type OrderState,
  type OrderStatus,
  type SaleState,
} from './types.js';

// State ↔ plain data for snapshots. Tuples rather than objects: a million orders must load in well
// under a second. Indexes (customers, idempotency keys) are rebuilt from the orders, in placement
// order, and the stored counters are checked against them (a pair assertion on the snapshot).

export const SNAPSHOT_FORMAT_VERSION = 1;

export type SaleTuple = [
  saleId: string,
  name: string,
  stock: number,
  perCustomerLimit: number,
  startsAt: number | null,
  endsAt: number | null,
  createdAt: number,
  updatedAt: number,
  sold: number,
  lastOrderSequence: number,
];
type HistoryTuple = [status: OrderStatus, at: number, message: string | null];
export type OrderTuple = [
  orderId: string,
  saleId: string,
  customerId: string,
  quantity: number,
  createdAt: number,
  idempotencyKey: string | null,
  requestHash: string | null,
  trackingId: string | null,
  history: HistoryTuple[],
];

export interface SnapshotData {
  readonly version: typeof SNAPSHOT_FORMAT_VERSION;
  readonly sales: SaleTuple[];
  readonly orders: OrderTuple[];
}

export function toSnapshotData(state: EngineState): SnapshotData {
  const cursor = new SnapshotCursor(state);
  return { version: SNAPSHOT_FORMAT_VERSION, sales: cursor.sales, orders: cursor.next(Infinity) };
}

/**
 * A snapshot read in slices while the state moves on, so that writing a large one never holds
 * the engine for long: it describes the state as it was when the cursor was made. Sales are
 * copied at once (there are few); orders are read `next(n)` at a time, in placement order, up to
 * the last one placed before the cursor was made (orders are never removed, and later ones come
 * after it). The one other change an order can undergo is a shipping status: whoever applies one
 * while the cursor is open calls `preserve(orderId)` first, and the cursor keeps the order as it
 * was.
 */
export class SnapshotCursor {
  readonly sales: SaleTuple[];
  private readonly orderCount: number;
  private readonly orders: Iterator<OrderState>;
  private read = 0;
  /** Orders changed since the cursor was made, as they were before the change. */
  private readonly preserved = new Map<string, OrderTuple>();

  constructor(state: EngineState) {
    this.sales = Array.from(state.sales.values(), saleTuple);
    this.orderCount = state.orders.size;
    this.orders = state.orders.values();
  }

  get done(): boolean {
    return this.read >= this.orderCount;
  }

  /** Call before an order changes: the snapshot keeps it as it is now (first call wins). */
  preserve(order: OrderState): void {
    if (!this.done && !this.preserved.has(order.orderId))
      this.preserved.set(order.orderId, orderTuple(order));
  }

  /** The next orders, at most `max`; empty once done. */
  next(max: number): OrderTuple[] {
    const tuples: OrderTuple[] = [];
    while (tuples.length < max && this.read < this.orderCount) {
      const order = this.orders.next().value as OrderState;
      this.read += 1;
      tuples.push(this.preserved.get(order.orderId) ?? orderTuple(order));
    }
    return tuples;
  }
}

function saleTuple(sale: SaleState): SaleTuple {
  const s = sale.settings;
  return [
    sale.saleId,
    s.name,
    s.stock,
    s.perCustomerLimit,
    s.startsAt,
    s.endsAt,
    sale.createdAt,
    sale.updatedAt,
    sale.sold,
    sale.lastOrderSequence,
  ];
}

function orderTuple(o: OrderState): OrderTuple {
  return [
    o.orderId,
    o.saleId,
    o.customerId,
    o.quantity,
    o.createdAt,
    o.idempotencyKey,
    o.requestHash,
    o.trackingId,
    o.history.map((h): HistoryTuple => [h.status, h.at, h.message]),
  ];
}

export function fromSnapshotData(data: SnapshotData): EngineState {
  if (data.version !== SNAPSHOT_FORMAT_VERSION)
    throw new Error(`snapshot format ${String(data.version)} is not ${SNAPSHOT_FORMAT_VERSION}`);
  const state = initialState();
  const soldBySale = new Map<string, number>();
  for (const t of data.sales) {
    const [saleId, name, stock, perCustomerLimit, startsAt, endsAt, createdAt, updatedAt, sold] = t;
    soldBySale.set(saleId, sold);
    state.sales.set(saleId, {
      saleId,
      settings: { name, stock, perCustomerLimit, startsAt, endsAt },
      createdAt,
      updatedAt,
      sold: 0,
      lastOrderSequence: t[9],
      customers: new Map(),
      idempotency: new Map(),
    });
  }
  for (const t of data.orders) loadOrder(state, t);
  for (const [saleId, sold] of soldBySale) {
    const rebuilt = state.sales.get(saleId)!.sold;
    if (rebuilt !== sold)
      throw new Error(
        `snapshot of sale ${saleId} says ${sold} sold but its orders add up to ${rebuilt}`,
      );
  }
  return state;
}

function loadOrder(state: EngineState, tuple: OrderTuple): void {
  const [
    orderId,
    saleId,
    customerId,
    quantity,
    createdAt,
    idempotencyKey,
    requestHash,
    trackingId,
  ] = tuple;
  const sale = state.sales.get(saleId);
  if (sale === undefined) throw new Error(`snapshot order ${orderId} names unknown sale ${saleId}`);
  const history = tuple[8].map(([status, at, message]): HistoryEntry => ({ status, at, message }));
  const last = history.at(-1);
  if (last === undefined) throw new Error(`snapshot order ${orderId} has no history`);
  addOrder(state, sale, {
    orderId,
    saleId,
    customerId,
    quantity,
    createdAt,
    idempotencyKey,
    requestHash,
    status: last.status,
    trackingId,
    history,
  });
}
