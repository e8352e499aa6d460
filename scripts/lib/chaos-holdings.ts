import { setTimeout as delay } from 'node:timers/promises';
import type { OrderView, QueryReply } from '../../engine/protocol/index.js';
import type { ChaosNats } from './chaos-nats.js';
import type { EngineClient } from './engine-client.js';

// What the engine holds for the customers of a chaos run, read back over NATS: for each (sale,
// customer) the units purchased and every order with its status — including orders whose answer
// the client never got.

/** Engine queries in flight at once while reading every customer back. */
const READ_CONCURRENCY = 64;
/**
 * Attempts per read. The reads come right after the last round, whose kill may have been NATS:
 * the engine may still be re-subscribing ("no responders"), so a failed read is asked again.
 */
const READ_ATTEMPTS = 5;
const READ_RETRY_BASE_MS = 250;

/** Engine queries for the audit, each retried (bounded) once the run's connection is up. */
export class EngineReads {
  constructor(
    private readonly client: EngineClient,
    private readonly link: ChaosNats,
  ) {}

  async query(saleId: string, body: object): Promise<QueryReply> {
    for (let attempt = 1; ; attempt += 1) {
      await this.link.connected();
      try {
        return await this.client.query(saleId, body);
      } catch (error) {
        if (attempt >= READ_ATTEMPTS) throw error;
        await delay(READ_RETRY_BASE_MS * attempt);
      }
    }
  }

  async sale(saleId: string) {
    const reply = await this.query(saleId, { type: 'GetSale' });
    if (!reply.ok || reply.kind !== 'sale')
      throw new Error(`GetSale ${saleId} failed: ${JSON.stringify(reply)}`);
    return reply.sale;
  }

  async customer(saleId: string, customerId: string) {
    const reply = await this.query(saleId, { type: 'GetCustomer', customerId });
    if (!reply.ok || reply.kind !== 'customer')
      throw new Error(`GetCustomer ${saleId}/${customerId} failed: ${JSON.stringify(reply)}`);
    return reply.customer;
  }
}

export interface SaleCustomers {
  readonly saleId: string;
  readonly customers: readonly string[];
}

export interface CustomerHoldings {
  readonly saleId: string;
  readonly customerId: string;
  readonly purchased: number;
  readonly orders: readonly OrderView[];
}

/** `fn` over the items, at most `limit` at a time; results in the items' order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** What every customer of the run holds, as the engine says. */
export function readHoldings(
  client: EngineReads,
  sales: readonly SaleCustomers[],
): Promise<CustomerHoldings[]> {
  const pairs = sales.flatMap(({ saleId, customers }) =>
    customers.map((customerId) => ({ saleId, customerId })),
  );
  return mapLimited(pairs, READ_CONCURRENCY, async ({ saleId, customerId }) => {
    const customer = await client.customer(saleId, customerId);
    return { saleId, customerId, purchased: customer.purchased, orders: customer.orders };
  });
}
