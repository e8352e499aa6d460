import { applyQueueEvent } from './queue-evolve.js';
import {
  type EngineState,
  type Event,
  idempotencyIndexKey,
  type OrderState,
  orderOf,
  type SaleState,
} from './types.js';

// Applies what happened. No validation: an event is a fact that `decide` already accepted, live or
// long ago (replay). The one code path that builds state, so live state and replay can't diverge.
// It changes `state` in place and returns it (see the note on EngineState).

export function evolve(state: EngineState, event: Event): EngineState {
  switch (event.type) {
    case 'SaleConfigured':
      applySaleConfigured(state, event);
      return state;
    case 'OrderPlaced':
      applyOrderPlaced(state, event);
      return state;
    case 'ShippingStatusRecorded':
      applyShippingStatusRecorded(state, event);
      return state;
    case 'LobbyOpened':
    case 'QueueJoined':
    case 'LobbyDrawn':
    case 'QueueAdvanced':
    case 'QueueLeft':
    case 'QueueClosed':
      applyQueueEvent(requireSale(state, event.saleId), event);
      return state;
    default: {
      const exhaustive: never = event;
      throw new Error(`unknown event ${JSON.stringify(exhaustive)}`);
    }
  }
}

type EventOf<T extends Event['type']> = Extract<Event, { type: T }>;

function applySaleConfigured(state: EngineState, event: EventOf<'SaleConfigured'>): void {
  const { saleId, name, stock, perCustomerLimit, startsAt, endsAt, waitingRoom, at } = event;
  const { firstOrderSequence = 1 } = event;
  const settings = {
    name,
    stock,
    perCustomerLimit,
    startsAt,
    endsAt,
    ...(waitingRoom === undefined ? {} : { waitingRoom }),
  };
  const sale = state.sales.get(saleId);
  if (sale !== undefined) {
    sale.settings = settings;
    sale.updatedAt = at;
    return;
  }
  state.sales.set(saleId, {
    saleId,
    queue: null,
    settings,
    createdAt: at,
    updatedAt: at,
    sold: 0,
    firstOrderSequence,
    lastOrderSequence: firstOrderSequence - 1,
    customers: new Map(),
    idempotency: new Map(),
    orders: [],
  });
}

function requireSale(state: EngineState, saleId: string): SaleState {
  const sale = state.sales.get(saleId);
  if (sale === undefined) throw new Error(`event for unknown sale ${saleId}`);
  return sale;
}

function applyOrderPlaced(state: EngineState, event: EventOf<'OrderPlaced'>): void {
  const { orderId, saleId, customerId, quantity, idempotencyKey, requestHash, at } = event;
  const sale = requireSale(state, saleId);
  // decide named this order with the next sequence, so counting keeps replay in step.
  sale.lastOrderSequence += 1;
  const order: OrderState = {
    orderId,
    saleId,
    customerId,
    quantity,
    createdAt: at,
    idempotencyKey,
    requestHash,
    status: 'CONFIRMED',
    trackingId: null,
    history: [{ status: 'CONFIRMED', at, message: null }],
  };
  addOrder(sale, order, sale.lastOrderSequence);
}

/** Puts an order into its sale and the sale's indexes; shared by evolve and snapshot loading. */
export function addOrder(sale: SaleState, order: OrderState, sequence: number): void {
  const { orderId, customerId, quantity, idempotencyKey } = order;
  // The sequence is the order's place: a gap or a repeat means a log or snapshot lost an order.
  const expected = sale.firstOrderSequence + sale.orders.length;
  if (sequence !== expected)
    throw new Error(`order ${orderId} has sequence ${sequence}, expected ${expected}`);
  sale.orders.push(order);
  sale.sold += quantity;
  const customer = sale.customers.get(customerId);
  if (customer === undefined)
    sale.customers.set(customerId, { purchased: quantity, orderIds: [orderId] });
  else {
    customer.purchased += quantity;
    customer.orderIds.push(orderId);
  }
  if (idempotencyKey !== null)
    sale.idempotency.set(idempotencyIndexKey(customerId, idempotencyKey), orderId);
}

function applyShippingStatusRecorded(
  state: EngineState,
  event: EventOf<'ShippingStatusRecorded'>,
): void {
  const order = orderOf(state, event.orderId);
  if (order === undefined) throw new Error(`event for unknown order ${event.orderId}`);
  order.status = event.status;
  if (event.trackingId !== null) order.trackingId = event.trackingId;
  order.history.push({ status: event.status, at: event.at, message: event.message });
}
