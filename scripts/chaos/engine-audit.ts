import type { NatsConnection } from '@nats-io/transport-node';
import { type Check, failuresOf, RowBuilder } from '../audit/audit-rows.js';
import {
  type EngineQueries,
  readHoldings,
  readOrdersFromEngine,
  readSaleFromEngine,
} from '../audit/engine-reader.js';
import { auditSales } from '../audit/invariants.js';
import type { AcknowledgedOrder } from '../audit/reading.js';
import type { EngineClient } from '../client/engine-client.js';
import { waitForOrdersStream } from '../client/orders-stream.js';

// Engine chaos's audit of a sale: the engine read back over NATS (scripts/audit's engine reader)
// and I1-I3 checked as every tool checks them — each customer's orders against its `purchased`
// and the cap, the sale's orders against stock − remaining and the units acknowledged, every
// acknowledged order among them. The engine's counters are checked against the orders
// themselves, not only against each other: a recovery that under-counts both alike is caught.
// At the end of a run, ORDERS against every order held (I4).

export const CHAOS_STOCK_UNITS = 100;
export const CHAOS_LIMIT_UNITS = 2;

export interface Acked extends AcknowledgedOrder {
  readonly saleId: string;
}

/** One round's sale as its client saw it. */
export interface SaleRecord {
  /** Everyone who asked for units: the customers read back. */
  readonly customers: ReadonlySet<string>;
  readonly acked: readonly Acked[];
  /** Units asked for by requests that got no answer (the engine was killed under them). */
  readonly unknownUnits: ReadonlyMap<string, number>;
}

/** After the burst that asked for more than the whole stock, a correct engine is sold out. */
const soldOut: Check = (reading) => {
  const row = new RowBuilder('sold out once customers asked for it all');
  row.checked = 1;
  if (!('unread' in reading.sale) && reading.sale.remaining !== 0)
    row.breach(
      `${reading.saleId}: ${reading.sale.remaining} units unsold although customers asked for ` +
        'them all',
    );
  return row.row();
};

/**
 * The sale as the engine holds it, audited; every breach (and whatever could not be read) in
 * words. With `soldOut`, the remaining must also be 0; with `readBack`, every acknowledged order
 * is also asked for on its own (GetOrder).
 */
export async function auditSale(
  engine: EngineQueries,
  saleId: string,
  record: SaleRecord,
  expect: { readonly soldOut: boolean; readonly readBack?: boolean },
): Promise<string[]> {
  const read = await readSaleFromEngine(engine, saleId, [...record.customers]);
  const readBack =
    expect.readBack === true ? await readOrdersFromEngine(engine, saleId, record.acked) : undefined;
  const reading = {
    saleId,
    configured: { stock: CHAOS_STOCK_UNITS, perCustomerLimit: CHAOS_LIMIT_UNITS, soldBefore: 0 },
    ...read,
    everyBuyerRead: true,
    acknowledged: record.acked,
    unknownUnits: record.unknownUnits,
    readBack,
  };
  return failuresOf(auditSales([reading], expect.soldOut ? [soldOut] : []));
}

/** How long the engine's outbox may take to publish every order to ORDERS. */
const OUTBOX_DRAIN_WAIT_MS = 20_000;

/** Every order the engine holds for the run's customers. */
async function allOrders(
  client: EngineClient,
  records: ReadonlyMap<string, SaleRecord>,
): Promise<Set<string>> {
  const orders = new Set<string>();
  for (const [saleId, { customers }] of records) {
    const { holdings } = await readHoldings(client, saleId, [...customers]);
    for (const order of holdings.flatMap((h) => h.orders)) orders.add(order.orderId);
  }
  return orders;
}

/** ORDERS against the orders the engine holds: each exactly once, none unknown. */
async function ordersStreamBreaches(nc: NatsConnection, orders: Set<string>): Promise<string[]> {
  const seen = new Map<string, number>();
  for (const { orderId } of await waitForOrdersStream(nc, orders.size, OUTBOX_DRAIN_WAIT_MS))
    seen.set(orderId, (seen.get(orderId) ?? 0) + 1);
  const breaches: string[] = [];
  for (const orderId of orders)
    if (seen.get(orderId) !== 1)
      breaches.push(`I4: ${orderId} is in ORDERS ${seen.get(orderId) ?? 0} times`);
  for (const orderId of seen.keys())
    if (!orders.has(orderId)) breaches.push(`ORDERS holds unknown order ${orderId}`);
  return breaches;
}

/** I4: once the outbox has drained, ORDERS holds every order of every sale exactly once. */
export async function auditOrdersStream(
  nc: NatsConnection,
  client: EngineClient,
  records: ReadonlyMap<string, SaleRecord>,
): Promise<{ orders: number; breaches: string[] }> {
  const orders = await allOrders(client, records);
  return { orders: orders.size, breaches: await ordersStreamBreaches(nc, orders) };
}
