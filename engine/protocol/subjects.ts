import { SALE_ID_PATTERN } from '../core/limits.js';

// Every NATS subject and JetStream name the system uses, in one place (the README lists them).

export const ORDERS_STREAM = 'ORDERS';
export const ORDERS_CONFIRMED_WILDCARD = 'orders.confirmed.*';
export const LEASE_BUCKET = 'sale_leases';

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
