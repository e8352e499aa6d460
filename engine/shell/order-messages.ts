import type { HistoryEntry, OrderState } from '../core/types.js';
import type { ConfirmedOrderMessage, OrderStatusChange } from '../protocol/messages.js';
import { ordersConfirmedSubject } from '../protocol/subjects.js';
import type { OutboxMessage } from './outbox.js';

// What the engine publishes about an order, derived from its state: the outbox message for
// JetStream and the status-change notice.

const encoder = new TextEncoder();

export function outboxMessageOf(order: OrderState, lsn: number): OutboxMessage {
  const message: ConfirmedOrderMessage = {
    orderId: order.orderId,
    saleId: order.saleId,
    customerId: order.customerId,
    quantity: order.quantity,
    createdAt: order.createdAt,
  };
  return {
    lsn,
    subject: ordersConfirmedSubject(order.saleId),
    msgId: order.orderId,
    data: encoder.encode(JSON.stringify(message)),
  };
}

export function statusChangeOf(order: OrderState, entry: HistoryEntry): OrderStatusChange {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    status: entry.status,
    trackingId: order.trackingId,
    message: entry.message,
    at: entry.at,
  };
}
