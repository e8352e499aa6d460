import {
  type EngineState,
  type HistoryEntry,
  type OrderStatus,
  orderOf,
  type SaleState,
  type SaleStatus,
  type ShippingStatus,
  type WaitingRoomSettings,
} from './types.js';

// The reads the gateway needs, as plain data computed from state. `now` comes from the caller,
// like every time in the core.

export interface SaleView {
  readonly saleId: string;
  readonly name: string;
  readonly stock: number;
  readonly remaining: number;
  readonly perCustomerLimit: number;
  readonly startsAt: number | null;
  readonly endsAt: number | null;
  readonly status: SaleStatus;
  readonly waitingRoom?: WaitingRoomSettings;
}

export interface OrderView {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly status: OrderStatus;
  readonly trackingId: string | null;
  readonly createdAt: number;
  readonly history: readonly HistoryEntry[];
}

export interface CustomerView {
  readonly saleId: string;
  readonly customerId: string;
  readonly purchased: number;
  readonly orderIds: readonly string[];
}

export function saleStatus(sale: SaleState, now: number): SaleStatus {
  const { startsAt, endsAt, stock } = sale.settings;
  if (endsAt !== null && now >= endsAt) return 'ENDED';
  if (startsAt !== null && now < startsAt) return 'SCHEDULED';
  return stock - sale.sold === 0 ? 'SOLD_OUT' : 'OPEN';
}

export function viewSale(state: EngineState, saleId: string, now: number): SaleView | null {
  const sale = state.sales.get(saleId);
  if (sale === undefined) return null;
  const { name, stock, perCustomerLimit, startsAt, endsAt, waitingRoom } = sale.settings;
  return {
    saleId,
    name,
    stock,
    remaining: stock - sale.sold,
    perCustomerLimit,
    startsAt,
    endsAt,
    status: saleStatus(sale, now),
    ...(waitingRoom === undefined ? {} : { waitingRoom }),
  };
}

export function viewOrder(state: EngineState, orderId: string): OrderView | null {
  const order = orderOf(state, orderId);
  if (order === undefined) return null;
  const { saleId, customerId, quantity, status, trackingId, createdAt, history } = order;
  return {
    orderId,
    saleId,
    customerId,
    quantity,
    status,
    trackingId,
    createdAt,
    history: [...history],
  };
}

export function viewCustomer(
  state: EngineState,
  saleId: string,
  customerId: string,
): CustomerView | null {
  const sale = state.sales.get(saleId);
  if (sale === undefined) return null;
  const customer = sale.customers.get(customerId);
  return {
    saleId,
    customerId,
    purchased: customer?.purchased ?? 0,
    orderIds: customer === undefined ? [] : [...customer.orderIds],
  };
}

export const SHIPPING_STATUSES: readonly ShippingStatus[] = [
  'SHIPPING_DELAYED',
  'SHIPPING_REQUESTED',
  'SHIPPING_FAILED',
];
