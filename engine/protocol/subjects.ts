import { SALE_ID_PATTERN } from '../core/limits.js';

// Every NATS subject and JetStream name the system uses, in one place (the README lists them).

export const ORDERS_STREAM = 'ORDERS';
export const ORDERS_CONFIRMED_WILDCARD = 'orders.confirmed.*';
/** Dead-lettered orders put back for delivery (`npm run replay-dead-letters`), in ORDERS too. */
export const ORDERS_RETRY_WILDCARD = 'orders.retry.*';
/** The shipping agents' durable pull consumer on ORDERS. */
export const SHIPPING_CONSUMER = 'shipping';
/** Orders whose shipment exhausted its deliveries, for an operator to replay. */
export const ORDERS_DEAD_LETTER_STREAM = 'ORDERS_DLQ';
export const ORDERS_DEAD_WILDCARD = 'orders.dead.*';
/** What to tell a customer, one message per status change (for an e-mail/SMS service). */
export const NOTIFICATIONS_STREAM = 'NOTIFICATIONS';
export const CUSTOMER_NOTIFICATIONS_WILDCARD = 'notifications.customer.*';
export const LEASE_BUCKET = 'sale_leases';
/** Which WAL each sale lives in (never expires): engine/shell/sale-homes.ts. */
export const SALE_HOMES_BUCKET = 'sale_homes';

function checkedSaleId(saleId: string): string {
  // A saleId is part of the subject: a `.`, `*` or `>` in it would address other subjects.
  if (!SALE_ID_PATTERN.test(saleId))
    throw new Error(`not a valid saleId: ${JSON.stringify(saleId)}`);
  return saleId;
}

/** Request-reply: order commands, sale configuration and shipping reports, to the sale's owner. */
export const saleCommandSubject = (saleId: string): string => `sale.${checkedSaleId(saleId)}.cmd`;
/** Request-reply: reads of the sale, an order, or a customer's orders. */
export const saleQuerySubject = (saleId: string): string => `sale.${checkedSaleId(saleId)}.query`;
/** Core publish, coalesced: the sale's current stock. */
export const saleStockSubject = (saleId: string): string => `sale.${checkedSaleId(saleId)}.stock`;
/** JetStream `ORDERS`: every confirmed order, Nats-Msg-Id = orderId (the outbox). */
export const ordersConfirmedSubject = (saleId: string): string =>
  `orders.confirmed.${checkedSaleId(saleId)}`;
/** Core publish: an order's status changed (live pushes, customer notifications). */
export const ordersStatusSubject = (saleId: string): string =>
  `orders.status.${checkedSaleId(saleId)}`;
/** JetStream `ORDERS`: a dead-lettered order put back for delivery. */
export const ordersRetrySubject = (saleId: string): string =>
  `orders.retry.${checkedSaleId(saleId)}`;
/** JetStream `ORDERS_DLQ`: an order whose shipment exhausted its deliveries. */
export const ordersDeadSubject = (saleId: string): string => `orders.dead.${checkedSaleId(saleId)}`;
/** JetStream `NOTIFICATIONS`: what to tell the customer about a status change. */
export const customerNotificationSubject = (saleId: string): string =>
  `notifications.customer.${checkedSaleId(saleId)}`;
/** Core publish, every QUEUE_TICK_MS: the sale's waiting room (QueueMessage). */
export const saleQueueSubject = (saleId: string): string => `sale.${checkedSaleId(saleId)}.queue`;
/** Core publish: the customers a tick admitted, once durable (AdmissionsMessage). */
export const saleAdmissionsSubject = (saleId: string): string =>
  `sale.${checkedSaleId(saleId)}.admissions`;
