import { addOrder } from './evolve.js';
import { type EngineState, type HistoryEntry, initialState, type OrderStatus } from './types.js';

// State ↔ plain data for snapshots. Tuples rather than objects: a million orders must load in well
// under a second. Indexes (customers, idempotency keys) are rebuilt from the orders, in placement
// order, and the stored counters are checked against them (a pair assertion on the snapshot).

export const SNAPSHOT_FORMAT_VERSION = 1;

type SaleTuple = [
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
type OrderTuple = [
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
  const sales: SaleTuple[] = [];
  for (const sale of state.sales.values()) {
    const s = sale.settings;
    sales.push([
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
    ]);
  }
  const orders: OrderTuple[] = [];
  for (const o of state.orders.values()) {
    const history = o.history.map((h): HistoryTuple => [h.status, h.at, h.message]);
    orders.push([
      o.orderId,
      o.saleId,
      o.customerId,
      o.quantity,
      o.createdAt,
      o.idempotencyKey,
      o.requestHash,
      o.trackingId,
      history,
    ]);
  }
  return { version: SNAPSHOT_FORMAT_VERSION, sales, orders };
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
