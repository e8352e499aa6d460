import type autocannon from 'autocannon';
import type { TokenPool } from '../scripts/lib/token-pool.js';

const ORDER_BODY = JSON.stringify({ quantity: 1 });

/**
 * One order of one unit per customer, built once, so that autocannon sends prebuilt bytes for
 * every row of a bench (a `setupRequest` per request would cost the generator more than the bare
 * route it is measured against).
 */
export function ordersOfEveryCustomer(tokens: TokenPool, saleId: string): autocannon.Request[] {
  return Array.from({ length: tokens.size }, (_, customer) => ({
    method: 'POST',
    path: `/v1/sales/${saleId}/orders`,
    headers: { 'content-type': 'application/json', authorization: tokens.authorization(customer) },
    body: ORDER_BODY,
  }));
}
