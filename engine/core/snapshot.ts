import { present } from './assert.js';
import { addOrder } from './evolve.js';
import { type QueueData, queueData, queueFromData } from './queue-snapshot.js';
import {
  type EngineState,
  type HistoryEntry,
  initialState,
  type OrderState,
  type OrderStatus,
  type SaleState,
} from './types.js';

// State ↔ plain data for snapshots. Indexes (customers, idempotency keys) are rebuilt from the
// orders, in placement order, and the stored counters are checked against them (a pair assertion
// on the snapshot).
//
// Format 2 stores orders in blocks, one array per field: a million small arrays (format 1, a
// tuple per order) cost JSON.parse and the garbage collector several times what a few hundred
// long ones do. An orderId and its saleId are rebuilt from the sale's index and the order's
// sequence, and the history of an order that never had a shipping status (most orders) is left
// out. Format 1 is still read: the snapshot an engine finds after an upgrade.

export const SNAPSHOT_FORMAT_VERSION = 2;
const SNAPSHOT_FORMAT_TUPLES = 1;

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
  /** Absent (1) in snapshots from before sales could be adopted, and for most sales. */
  firstOrderSequence?: number,
  /** Absent for a sale without a waiting room. */
  waitingRoom?: [lobbyOpensAt: number, admitPerSecond: number, admissionTtlS: number],
  /** Absent until the waiting room's lobby opens. */
  queue?: QueueData,
];
type HistoryTuple = [status: OrderStatus, at: number, message: string | null];

/** Orders, one array per field, all of the same length. */
export interface OrderBlock {
  /** Index of the order's sale in `sales`. */
  readonly sale: number[];
  /** The sequence in its orderId (`<saleId>~<sequence>`). */
  readonly sequence: number[];
  readonly customerId: string[];
  readonly quantity: number[];
  readonly createdAt: number[];
  readonly idempotencyKey: (string | null)[];
  readonly requestHash: (string | null)[];
  readonly trackingId: (string | null)[];
  /** 0 for the one entry every order begins with (CONFIRMED at createdAt, no message). */
  readonly history: (HistoryTuple[] | 0)[];
}

export interface SnapshotData {
  readonly version: typeof SNAPSHOT_FORMAT_VERSION;
  readonly sales: SaleTuple[];
  readonly orders: OrderBlock[];
}

/** Format 1: one tuple per order. */
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

export interface TupleSnapshotData {
  readonly version: typeof SNAPSHOT_FORMAT_TUPLES;
  readonly sales: SaleTuple[];
  readonly orders: OrderTuple[];
}

export function toSnapshotData(state: EngineState): SnapshotData {
  const cursor = new SnapshotCursor(state);
  return {
    version: SNAPSHOT_FORMAT_VERSION,
    sales: cursor.sales,
    orders: [cursor.next(Number.POSITIVE_INFINITY)],
  };
}

/** What an order's shipping status changes: enough to put it back as it was. */
interface PreservedOrder {
  readonly historyLength: number;
  readonly trackingId: string | null;
}

/**
 * A snapshot read in slices while the state moves on, so that writing a large one never holds
 * the engine for long: it describes the state as it was when the cursor was made. Sales are
 * copied at once (there are few); orders are read `next(n)` at a time, in placement order, up to
 * the last one placed before the cursor was made (orders are never removed, and later ones come
 * after it). The one other change an order can undergo is a shipping status: whoever applies one
 * while the cursor is open calls `preserve(orderId)` first, and the cursor keeps the order as it
 * was (its history only grows, so its length then says what it was).
 */
export class SnapshotCursor {
  readonly sales: SaleTuple[];
  private readonly saleIndex: Map<string, number>;
  private readonly orderCount: number;
  private readonly orders: Iterator<OrderState>;
  private read = 0;
  /** Orders changed since the cursor was made, as they were before the change. */
  private readonly preserved = new Map<string, PreservedOrder>();

  constructor(state: EngineState) {
    this.sales = Array.from(state.sales.values(), saleTuple);
    this.saleIndex = new Map(this.sales.map(([saleId], index) => [saleId, index]));
    // Counted now: a generator's body runs only at its first `next`, orders later.
    const placed = Array.from(state.sales.values(), (sale) => [sale, sale.orders.length] as const);
    this.orderCount = placed.reduce((sum, [, count]) => sum + count, 0);
    this.orders = ordersOf(placed);
  }

  get done(): boolean {
    return this.read >= this.orderCount;
  }

  /** Call before an order changes: the snapshot keeps it as it is now (first call wins). */
  preserve(order: OrderState): void {
    if (!this.done && !this.preserved.has(order.orderId))
      this.preserved.set(order.orderId, {
        historyLength: order.history.length,
        trackingId: order.trackingId,
      });
  }

  /** The next orders, at most `max`, as one block; an empty block once done. */
  next(max: number): OrderBlock {
    const block: OrderBlock = {
      sale: [],
      sequence: [],
      customerId: [],
      quantity: [],
      createdAt: [],
      idempotencyKey: [],
      requestHash: [],
      trackingId: [],
      history: [],
    };
    for (let taken = 0; taken < max && this.read < this.orderCount; taken += 1) {
      const order = this.orders.next().value as OrderState;
      this.read += 1;
      const kept = this.preserved.get(order.orderId);
      const history =
        kept === undefined ? order.history : order.history.slice(0, kept.historyLength);
      block.sale.push(this.saleIndex.get(order.saleId)!);
      block.sequence.push(Number(order.orderId.slice(order.saleId.length + 1)));
      block.customerId.push(order.customerId);
      block.quantity.push(order.quantity);
      block.createdAt.push(order.createdAt);
      block.idempotencyKey.push(order.idempotencyKey);
      block.requestHash.push(order.requestHash);
      block.trackingId.push(kept === undefined ? order.trackingId : kept.trackingId);
      block.history.push(
        isOnlyConfirmation(history, order.createdAt)
          ? 0
          : history.map((h): HistoryTuple => [h.status, h.at, h.message]),
      );
    }
    return block;
  }
}

/** Sale by sale, each sale's orders up to the count it had when the cursor was made. */
function* ordersOf(placed: readonly (readonly [SaleState, number])[]): Generator<OrderState> {
  for (const [sale, count] of placed)
    for (let i = 0; i < count; i += 1)
      yield present(sale.orders[i], `order ${i} of ${sale.saleId}`);
}

function isOnlyConfirmation(history: readonly HistoryEntry[], createdAt: number): boolean {
  const [first] = history;
  return (
    history.length === 1 &&
    first?.status === 'CONFIRMED' &&
    first.at === createdAt &&
    first.message === null
  );
}

function saleTuple(sale: SaleState): SaleTuple {
  const s = sale.settings;
  const tuple: SaleTuple = [
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
  const room = s.waitingRoom;
  if (sale.firstOrderSequence !== 1 || room !== undefined) tuple.push(sale.firstOrderSequence);
  if (room !== undefined) {
    tuple.push([room.lobbyOpensAt, room.admitPerSecond, room.admissionTtlS]);
    if (sale.queue !== null) tuple.push(queueData(sale.queue));
  }
  return tuple;
}

export function fromSnapshotData(data: SnapshotData | TupleSnapshotData): EngineState {
  if (data.version !== SNAPSHOT_FORMAT_VERSION && data.version !== SNAPSHOT_FORMAT_TUPLES)
    throw new Error(`snapshot format ${String((data as { version: unknown }).version)} is unknown`);
  const state = initialState();
  const soldBySale = new Map<string, number>();
  const sales: SaleState[] = [];
  for (const t of data.sales) {
    const [saleId, name, stock, perCustomerLimit, startsAt, endsAt, createdAt, updatedAt, sold] = t;
    soldBySale.set(saleId, sold);
    const room = t[11];
    const sale: SaleState = {
      saleId,
      queue: null,
      settings: {
        name,
        stock,
        perCustomerLimit,
        startsAt,
        endsAt,
        ...(room === undefined
          ? {}
          : {
              waitingRoom: {
                lobbyOpensAt: room[0],
                admitPerSecond: room[1],
                admissionTtlS: room[2],
              },
            }),
      },
      createdAt,
      updatedAt,
      sold: 0,
      firstOrderSequence: t[10] ?? 1,
      lastOrderSequence: t[9],
      customers: new Map(),
      idempotency: new Map(),
      orders: [],
    };
    const queue = t[12];
    if (queue !== undefined) sale.queue = queueFromData(sale, queue);
    state.sales.set(saleId, sale);
    sales.push(sale);
  }
  if (data.version === SNAPSHOT_FORMAT_VERSION)
    for (const block of data.orders) loadBlock(sales, block);
  else for (const t of data.orders) loadTuple(state, t);
  for (const sale of sales) {
    const sold = soldBySale.get(sale.saleId)!;
    if (sale.sold !== sold)
      throw new Error(
        `snapshot of sale ${sale.saleId} says ${sold} sold but its orders add up to ${sale.sold}`,
      );
    const expected = sale.lastOrderSequence - sale.firstOrderSequence + 1;
    if (sale.orders.length !== expected)
      throw new Error(
        `snapshot of sale ${sale.saleId} has ${sale.orders.length} orders, not ${expected}`,
      );
  }
  return state;
}

function loadBlock(sales: readonly SaleState[], block: OrderBlock): void {
  const count = block.sequence.length;
  const fields = Object.entries(block) as [string, unknown[]][];
  const uneven = fields.find(([, values]) => values.length !== count);
  if (uneven !== undefined)
    throw new Error(`snapshot block of ${count} orders has ${uneven[1].length} ${uneven[0]}`);
  // Every field has `count` values (checked above): the `!` below index within them.
  for (let i = 0; i < count; i += 1) {
    const sale = sales[block.sale[i]!];
    if (sale === undefined) throw new Error(`snapshot order names sale #${block.sale[i]}`);
    const createdAt = block.createdAt[i]!;
    const stored = block.history[i]!;
    const history: HistoryEntry[] =
      stored === 0
        ? [{ status: 'CONFIRMED', at: createdAt, message: null }]
        : stored.map(([status, at, message]) => ({ status, at, message }));
    const sequence = block.sequence[i]!;
    const orderId = `${sale.saleId}~${sequence}`;
    addOrder(
      sale,
      {
        orderId,
        saleId: sale.saleId,
        customerId: block.customerId[i]!,
        quantity: block.quantity[i]!,
        createdAt,
        idempotencyKey: block.idempotencyKey[i]!,
        requestHash: block.requestHash[i]!,
        status: lastStatus(history, orderId),
        trackingId: block.trackingId[i]!,
        history,
      },
      sequence,
    );
  }
}

function lastStatus(history: readonly HistoryEntry[], orderId: string): OrderStatus {
  const last = history.at(-1);
  if (last === undefined) throw new Error(`snapshot order ${orderId} has no history`);
  return last.status;
}

function loadTuple(state: EngineState, tuple: OrderTuple): void {
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
  addOrder(
    sale,
    {
      orderId,
      saleId,
      customerId,
      quantity,
      createdAt,
      idempotencyKey,
      requestHash,
      status: lastStatus(history, orderId),
      trackingId,
      history,
    },
    Number(orderId.slice(saleId.length + 1)),
  );
}
