import type {
  CustomerOrders,
  DrawView,
  OrderView,
  QueueEntryView,
  SaleView,
} from '../engine/protocol/index.js';
import type { DrawJson, OrderJson, QueueEntryJson, SaleJson } from './schemas.js';

// The engine speaks milliseconds since the epoch; HTTP speaks ISO 8601.

const iso = (ms: number): string => new Date(ms).toISOString();

export function orderJson(order: OrderView): OrderJson {
  return {
    orderId: order.orderId,
    saleId: order.saleId,
    customerId: order.customerId,
    quantity: order.quantity,
    status: order.status,
    trackingId: order.trackingId,
    createdAt: iso(order.createdAt),
    history: order.history.map((entry) =>
      entry.message === null
        ? { status: entry.status, at: iso(entry.at) }
        : { status: entry.status, at: iso(entry.at), message: entry.message },
    ),
  };
}

export function saleJson(sale: SaleView): SaleJson {
  return {
    saleId: sale.saleId,
    name: sale.name,
    stock: sale.stock,
    remaining: sale.remaining,
    perCustomerLimit: sale.perCustomerLimit,
    ...(sale.startsAt === null ? {} : { startsAt: iso(sale.startsAt) }),
    ...(sale.endsAt === null ? {} : { endsAt: iso(sale.endsAt) }),
    status: sale.status,
    ...(sale.waitingRoom === undefined
      ? {}
      : { waitingRoom: { ...sale.waitingRoom, lobbyOpensAt: iso(sale.waitingRoom.lobbyOpensAt) } }),
  };
}

export function queueEntryJson(entry: QueueEntryView): QueueEntryJson {
  const { admittedAt, admittedUntil, ...rest } = entry;
  return {
    ...rest,
    ...(admittedAt === null ? {} : { admittedAt: iso(admittedAt) }),
    ...(admittedUntil === null ? {} : { admittedUntil: iso(admittedUntil) }),
  };
}

export function drawJson(draw: DrawView): DrawJson {
  const { drawnAt, lobby, ...rest } = draw;
  return {
    ...rest,
    ...(lobby === undefined ? {} : { lobby: [...lobby] }),
    ...(drawnAt === undefined ? {} : { drawnAt: iso(drawnAt) }),
  };
}

export function myOrdersJson(customer: CustomerOrders) {
  return {
    saleId: customer.saleId,
    customerId: customer.customerId,
    purchased: customer.purchased,
    orders: customer.orders.map(orderJson),
  };
}
