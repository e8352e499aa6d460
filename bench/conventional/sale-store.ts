import type pg from 'pg';
import { type Rejection, rejection } from '../../engine/protocol/index.js';
import {
  ORDER_COLUMNS,
  type OrderRecord,
  type OrderRow,
  orderRowOf,
  SALE_COLUMNS,
  type SaleRecord,
  type SaleRow,
  saleRowOf,
} from './rows.js';

// Sales and order reads in PostgreSQL: everything but placing an order (order-transaction.ts).
// Changing a sale follows the engine's rules: stock never below what is sold, the cap never
// below what a customer already holds.

export interface SaleSettings {
  readonly name: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly startsAt: number | null;
  readonly endsAt: number | null;
}

export type Configured =
  | { readonly ok: true; readonly created: boolean; readonly sale: SaleRow }
  | { readonly ok: false; readonly rejection: Rejection };

const dateOrNull = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export async function readSale(pool: pg.Pool, saleId: string): Promise<SaleRow | null> {
  const result = await pool.query<SaleRecord>(`SELECT ${SALE_COLUMNS} FROM sales WHERE id = $1`, [
    saleId,
  ]);
  const record = result.rows[0];
  return record === undefined ? null : saleRowOf(record);
}

export async function readOrder(
  pool: pg.Pool,
  saleId: string,
  sequence: string,
): Promise<OrderRow | null> {
  const result = await pool.query<OrderRecord>(
    `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 AND sale_id = $2`,
    [sequence, saleId],
  );
  const record = result.rows[0];
  return record === undefined ? null : orderRowOf(record);
}

export async function customerOrders(
  pool: pg.Pool,
  saleId: string,
  customerId: string,
): Promise<OrderRow[]> {
  const result = await pool.query<OrderRecord>(
    `SELECT ${ORDER_COLUMNS} FROM orders WHERE sale_id = $1 AND customer_id = $2 ORDER BY id`,
    [saleId, customerId],
  );
  return result.rows.map(orderRowOf);
}

export async function configureSale(
  pool: pg.Pool,
  saleId: string,
  settings: SaleSettings,
): Promise<Configured> {
  const { name, stock, perCustomerLimit, startsAt, endsAt } = settings;
  if (startsAt !== null && endsAt !== null && startsAt >= endsAt)
    return { ok: false, rejection: rejection('INVALID_REQUEST', 'startsAt must be before endsAt') };
  const values = [saleId, name, stock, perCustomerLimit, dateOrNull(startsAt), dateOrNull(endsAt)];
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    const inserted = await client.query<SaleRecord>(
      `INSERT INTO sales (id, name, stock, remaining, per_customer_limit, starts_at, ends_at)
       VALUES ($1, $2, $3, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING ${SALE_COLUMNS}`,
      values,
    );
    if (inserted.rows[0] !== undefined) {
      await client.query('COMMIT');
      return { ok: true, created: true, sale: saleRowOf(inserted.rows[0]) };
    }
    const current = await client.query<SaleRecord & { largest: number }>(
      `SELECT ${SALE_COLUMNS},
         (SELECT COALESCE(MAX(units), 0)::int FROM
           (SELECT SUM(quantity) AS units FROM orders WHERE sale_id = $1 GROUP BY customer_id) c)
         AS largest
       FROM sales WHERE id = $1 FOR UPDATE`,
      [saleId],
    );
    const sale = current.rows[0]!;
    const sold = sale.stock - sale.remaining;
    const refused =
      stock < sold
        ? rejection('INVALID_REQUEST', `stock ${stock} is below the ${sold} units already sold`, {
            sold,
          })
        : perCustomerLimit < sale.largest
          ? rejection(
              'INVALID_REQUEST',
              `perCustomerLimit ${perCustomerLimit} is below a customer's ${sale.largest}`,
              { purchased: sale.largest },
            )
          : null;
    if (refused !== null) {
      await client.query('ROLLBACK');
      return { ok: false, rejection: refused };
    }
    const updated = await client.query<SaleRecord>(
      `UPDATE sales SET name = $2, stock = $3, remaining = $3 - $7, per_customer_limit = $4,
         starts_at = $5, ends_at = $6 WHERE id = $1 RETURNING ${SALE_COLUMNS}`,
      [...values, sold],
    );
    await client.query('COMMIT');
    return { ok: true, created: false, sale: saleRowOf(updated.rows[0]!) };
  } catch (error) {
    failure = error as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    // A connection that failed mid-transaction is closed rather than handed to the next request.
    client.release(failure);
  }
}
