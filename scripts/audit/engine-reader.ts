import type { OrderView, QueryReply } from '../../engine/protocol/index.js';
import { mapLimited } from '../client/load-runner.js';
import type { Holding, ReadBack, SaleCounters, SaleRead, UnreadCustomer } from './reading.js';

// The audit's reader over NATS, through the engine's own queries (what a gateway asks): the sale
// (GetSale), each customer's holdings (GetCustomer), each acknowledged order (GetOrder). The
// engine's holdings carry whole order views (status, tracking id), which the chaos run's shipping
// audit reads too. A query that fails or answers something else is reported as unread.

/** Engine queries in flight at once while reading every customer back. */
const READ_CONCURRENCY = 64;

/** What the reader needs of an engine client: the chaos run's retrying reads fit too. */
export interface EngineQueries {
  query(saleId: string, body: object): Promise<QueryReply>;
}

/** A customer's holdings as the engine keeps them: whole order views. */
export interface EngineHolding extends Holding {
  readonly saleId: string;
  readonly orders: readonly OrderView[];
}

export interface EngineSaleRead extends SaleRead {
  readonly holdings: readonly EngineHolding[];
}

const failure = (error: unknown): string => (error as Error).message;

async function ask(
  engine: EngineQueries,
  saleId: string,
  body: object,
): Promise<QueryReply | string> {
  try {
    return await engine.query(saleId, body);
  } catch (error) {
    return failure(error);
  }
}

async function readCounters(engine: EngineQueries, saleId: string): Promise<SaleCounters> {
  const reply = await ask(engine, saleId, { type: 'GetSale' });
  if (typeof reply === 'string') return { unread: reply };
  if (!reply.ok || reply.kind !== 'sale') return { unread: JSON.stringify(reply) };
  const { stock, remaining, status } = reply.sale;
  return { stock, remaining, status };
}

/** What the engine holds for one customer, or why it could not say. */
async function readHolding(
  engine: EngineQueries,
  saleId: string,
  customerId: string,
): Promise<EngineHolding | UnreadCustomer> {
  const reply = await ask(engine, saleId, { type: 'GetCustomer', customerId });
  if (typeof reply === 'string') return { customerId, reason: reply };
  if (!reply.ok || reply.kind !== 'customer') return { customerId, reason: JSON.stringify(reply) };
  const { purchased, orders } = reply.customer;
  return { saleId, customerId, purchased, orders };
}

/** What the engine holds for each customer, and the customers it could not say for. */
export async function readHoldings(
  engine: EngineQueries,
  saleId: string,
  customers: readonly string[],
): Promise<Pick<EngineSaleRead, 'holdings' | 'unreadCustomers'>> {
  const reads = await mapLimited(customers, READ_CONCURRENCY, (customerId) =>
    readHolding(engine, saleId, customerId),
  );
  return {
    holdings: reads.filter((r): r is EngineHolding => 'purchased' in r),
    unreadCustomers: reads.filter((r): r is UnreadCustomer => 'reason' in r),
  };
}

/** The sale's counters and each customer's holdings. */
export async function readSaleFromEngine(
  engine: EngineQueries,
  saleId: string,
  customers: readonly string[],
): Promise<EngineSaleRead> {
  const sale = await readCounters(engine, saleId);
  return { sale, ...(await readHoldings(engine, saleId, customers)) };
}

/** Each acknowledged order of the sale, by order id: found, missing or unread. */
export async function readOrdersFromEngine(
  engine: EngineQueries,
  saleId: string,
  orders: readonly { readonly orderId: string }[],
): Promise<Map<string, ReadBack>> {
  const reads = await mapLimited(orders, READ_CONCURRENCY, async ({ orderId }) => {
    const reply = await ask(engine, saleId, { type: 'GetOrder', orderId });
    return [orderId, readBackOf(reply)] as const;
  });
  return new Map(reads);
}

function readBackOf(reply: QueryReply | string): ReadBack {
  if (typeof reply === 'string') return { kind: 'unread', reason: reply };
  if (reply.ok && reply.kind === 'order') {
    const { customerId, quantity, saleId } = reply.order;
    return { kind: 'found', customerId, quantity, saleId };
  }
  if (!reply.ok && reply.error.code === 'ORDER_NOT_FOUND') return { kind: 'missing' };
  return { kind: 'unread', reason: JSON.stringify(reply) };
}
