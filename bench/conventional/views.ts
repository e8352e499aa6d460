import type { OrderView, SaleView } from '../../engine/protocol/index.js';
import { orderJson, saleJson } from '../../gateway/views.js';
import type { OrderRow, SaleRow } from './rows.js';

// PostgreSQL rows as the engine's views, so the gateway's own view functions render them and
// both servers answer with the same JSON. The conventional server ships nothing: every order it
// holds is CONFIRMED.

export function saleView(sale: SaleRow, now: number): SaleView {
  const { startsAt, endsAt, remaining } = sale;
  const status =
    endsAt !== null && now >= endsAt
      ? 'ENDED'
      : startsAt !== null && now < startsAt
        ? 'SCHEDULED'
        : remaining === 0
          ? 'SOLD_OUT'
          : 'OPEN';
  return { ...sale, status };
}

export function orderView(order: OrderRow): OrderView {
  return {
    ...order,
    status: 'CONFIRMED',
    trackingId: null,
    history: [{ status: 'CONFIRMED', at: order.createdAt, message: null }],
  };
}

export const saleBody = (sale: SaleRow) => saleJson(saleView(sale, Date.now()));
export const orderBody = (order: OrderRow) => orderJson(orderView(order));
