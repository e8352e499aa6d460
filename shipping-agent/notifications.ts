import type { JetStreamClient } from '@nats-io/jetstream';
import {
  type CustomerNotification,
  customerNotificationSubject,
  encodeMessage,
  type OrderStatus,
  type OrderView,
} from '../engine/protocol/index.js';

// What the customer is told on each status change, published to JetStream NOTIFICATIONS for an
// e-mail/SMS service to send. Nats-Msg-Id `<orderId>:<status>` makes a repeat (a redelivery, two
// agents) one notification.

export function notificationText(order: OrderView): string {
  const texts: Record<OrderStatus, string> = {
    CONFIRMED: `Your order ${order.orderId} is confirmed.`,
    SHIPPING_DELAYED: `Your order ${order.orderId} is confirmed; shipping will be arranged shortly.`,
    SHIPPING_REQUESTED: `Your order ${order.orderId} is on its way: tracking number ${order.trackingId}.`,
    SHIPPING_FAILED: `Your order ${order.orderId} is confirmed, but we could not arrange its shipping yet. Our team is on it and will contact you.`,
  };
  return texts[order.status];
}

export class CustomerNotifier {
  constructor(private readonly js: JetStreamClient) {}

  async notify(order: OrderView): Promise<void> {
    const at = order.history.at(-1)?.at ?? order.createdAt;
    const notification: CustomerNotification = {
      orderId: order.orderId,
      saleId: order.saleId,
      customerId: order.customerId,
      status: order.status,
      trackingId: order.trackingId,
      text: notificationText(order),
      at,
    };
    await this.js.publish(customerNotificationSubject(order.saleId), encodeMessage(notification), {
      msgID: `${order.orderId}:${order.status}`,
    });
  }
}
