import type { Pool } from 'pg';

// The conventional design's system of record: one row per sale whose `remaining` every order
// decrements (the hot row), and one row per order. The CHECKs are the database's own last word
// on I1: `remaining` can never go below 0, whatever the code above it does.

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS sales (
  id                 text PRIMARY KEY,
  name               text NOT NULL,
  stock              integer NOT NULL CHECK (stock >= 0),
  remaining          integer NOT NULL CHECK (remaining >= 0 AND remaining <= stock),
  per_customer_limit integer NOT NULL CHECK (per_customer_limit >= 1),
  starts_at          timestamptz,
  ends_at            timestamptz
);
CREATE TABLE IF NOT EXISTS orders (
  id              bigserial PRIMARY KEY,
  sale_id         text NOT NULL REFERENCES sales (id),
  customer_id     text NOT NULL,
  quantity        integer NOT NULL CHECK (quantity >= 1),
  idempotency_key text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
-- The cap check sums a customer's units from this index alone (an index-only scan).
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (sale_id, customer_id) INCLUDE (quantity);
-- I5 in the database too: one order per (sale, customer, key), even if a lock were lost.
CREATE UNIQUE INDEX IF NOT EXISTS orders_by_idempotency_key
  ON orders (sale_id, customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
`;

export async function createSchema(pool: Pool): Promise<void> {
  await pool.query(SCHEMA_SQL);
}
