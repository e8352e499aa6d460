// Sales and orders as the conventional server reads them from PostgreSQL, in the engine's units
// (ms since the epoch), so the HTTP views are built the same way as our gateway's.

export interface SaleRow {
  readonly saleId: string;
  readonly name: string;
  readonly stock: number;
  readonly remaining: number;
  readonly perCustomerLimit: number;
  readonly startsAt: number | null;
  readonly endsAt: number | null;
}

export interface OrderRow {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly createdAt: number;
}

/** `<saleId>~<orders.id>`: the same shape as the engine's orderIds, so GETs route alike. */
export const orderIdOf = (saleId: string, id: string): string => `${saleId}~${id}`;

export const msOrNull = (value: Date | null): number | null =>
  value === null ? null : value.getTime();

export interface SaleRecord {
  id: string;
  name: string;
  stock: number;
  remaining: number;
  per_customer_limit: number;
  starts_at: Date | null;
  ends_at: Date | null;
}

export const SALE_COLUMNS = 'id, name, stock, remaining, per_customer_limit, starts_at, ends_at';

export function saleRowOf(record: SaleRecord): SaleRow {
  return {
    saleId: record.id,
    name: record.name,
    stock: record.stock,
    remaining: record.remaining,
    perCustomerLimit: record.per_customer_limit,
    startsAt: msOrNull(record.starts_at),
    endsAt: msOrNull(record.ends_at),
  };
}

export interface OrderRecord {
  id: string;
  sale_id: string;
  customer_id: string;
  quantity: number;
  created_at: Date;
}

export const ORDER_COLUMNS = 'id, sale_id, customer_id, quantity, created_at';

export function orderRowOf(record: OrderRecord): OrderRow {
  return {
    orderId: orderIdOf(record.sale_id, record.id),
    saleId: record.sale_id,
    customerId: record.customer_id,
    quantity: record.quantity,
    createdAt: record.created_at.getTime(),
  };
}
