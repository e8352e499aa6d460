import { setTimeout as delay } from 'node:timers/promises';
import { startProgress } from '../cli/progress.js';
import {
  errorCodeOf,
  type JsonReply,
  networkErrorCode,
  requestJson,
  retryAfterMs,
} from '../client/http-json.js';
import { runLoad } from '../client/load-runner.js';
import type { Holding, ReadBack, SaleCounters, SaleRead, UnreadCustomer } from './reading.js';

// The audit's reader over HTTP, as a client reads: the sale (GET /v1/sales/:id), each customer's
// holdings with that customer's token (GET /v1/sales/:id/me), each acknowledged order by its
// owner (GET /v1/orders/:id), through the gateways in turn. A reply that asks to wait (shedding,
// rate limiting, an engine restarting) is asked again, a bounded number of times; what still
// cannot be read is reported as unread, never as a breach.

/** Reads in flight at once: enough to be quick, few enough not to be shed or rate limited. */
const READ_CONCURRENCY = 32;
const READ_ATTEMPTS_MAX = 5;
/** Longest wait between two attempts, whatever Retry-After says. */
const RETRY_WAIT_MS_MAX = 2_000;
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'RATE_LIMITED',
  'OVERLOADED',
  'ENGINE_UNAVAILABLE',
]);

export interface HttpAuditTarget {
  readonly gatewayUrls: readonly string[];
  readonly saleId: string;
  /** The bearer token of a customer of the run. */
  readonly tokenOf: (customerId: string) => string;
  /** A progress bar on stderr while reading (the burst tool's long audits). */
  readonly progress?: boolean;
}

/**
 * A GET that rides out shedding and rate limiting, read `nth` through the gateways in turn; a
 * network error counts as a failed attempt.
 */
export async function read(
  gatewayUrls: readonly string[],
  nth: number,
  path: string,
  token?: string,
): Promise<JsonReply | Error> {
  let last: JsonReply | Error = new Error('not tried');
  for (let attempt = 0; attempt < READ_ATTEMPTS_MAX; attempt += 1) {
    const url = `${gatewayUrls[(nth + attempt) % gatewayUrls.length]!}${path}`;
    try {
      last = await requestJson(url, token === undefined ? {} : { token });
      if (!RETRYABLE_CODES.has(errorCodeOf(last.body) ?? '')) return last;
      await delay(retryAfterMs(last.headers, RETRY_WAIT_MS_MAX));
    } catch (error) {
      last = new Error(networkErrorCode(error));
      await delay(RETRY_WAIT_MS_MAX);
    }
  }
  return last;
}

export const describe = (reply: JsonReply | Error): string =>
  reply instanceof Error
    ? reply.message
    : `${reply.status} ${errorCodeOf(reply.body) ?? JSON.stringify(reply.body).slice(0, 200)}`;

/** `readOne` over the items, READ_CONCURRENCY at a time, with a progress bar if asked. */
async function readAll<T, R>(
  target: HttpAuditTarget,
  label: string,
  items: readonly T[],
  readOne: (item: T, nth: number) => Promise<R>,
): Promise<readonly R[]> {
  const progress =
    target.progress === true && items.length > 0 ? startProgress(label, items.length) : null;
  const run = await runLoad({
    total: items.length,
    concurrency: READ_CONCURRENCY,
    onAnswered: (n) => progress?.update(n),
    send: (i) => readOne(items[i]!, i),
  });
  progress?.finish();
  return run.outcomes;
}

async function readCounters(target: HttpAuditTarget): Promise<SaleCounters> {
  const reply = await read(target.gatewayUrls, 0, `/v1/sales/${encodeURIComponent(target.saleId)}`);
  if (reply instanceof Error || reply.status !== 200) return { unread: describe(reply) };
  const { stock, remaining, status } = reply.body as {
    stock: number;
    remaining: number;
    status: string;
  };
  return { stock, remaining, status };
}

/** The sale's counters and each customer's holdings. */
export async function readSaleOverHttp(
  target: HttpAuditTarget,
  customers: readonly string[],
): Promise<SaleRead> {
  const sale = await readCounters(target);
  const path = `/v1/sales/${encodeURIComponent(target.saleId)}/me`;
  const reads = await readAll(target, 'audit: customers', customers, async (customerId, nth) => {
    const reply = await read(target.gatewayUrls, nth, path, target.tokenOf(customerId));
    if (reply instanceof Error || reply.status !== 200)
      return { customerId, reason: `GET /me gave ${describe(reply)}` };
    const { purchased, orders } = reply.body as Holding;
    return { customerId, purchased, orders };
  });
  const holdings = reads.filter((r): r is Holding => 'purchased' in r);
  const unreadCustomers = reads.filter((r): r is UnreadCustomer => 'reason' in r);
  return { sale, holdings, unreadCustomers };
}

/** Each acknowledged order, read by its owner: by order id, found, missing or unread. */
export async function readOrdersOverHttp(
  target: HttpAuditTarget,
  orders: readonly { readonly orderId: string; readonly customerId: string }[],
): Promise<Map<string, ReadBack>> {
  const reads = await readAll(target, 'audit: orders', orders, async (order, nth) => {
    const path = `/v1/orders/${encodeURIComponent(order.orderId)}`;
    const reply = await read(target.gatewayUrls, nth, path, target.tokenOf(order.customerId));
    return [order.orderId, readBackOf(reply)] as const;
  });
  return new Map(reads);
}

function readBackOf(reply: JsonReply | Error): ReadBack {
  if (!(reply instanceof Error) && reply.status === 200) {
    const { customerId, quantity, saleId } = reply.body as ReadBack & { kind: 'found' };
    return { kind: 'found', customerId, quantity, saleId };
  }
  if (!(reply instanceof Error) && errorCodeOf(reply.body) === 'ORDER_NOT_FOUND')
    return { kind: 'missing' };
  return { kind: 'unread', reason: describe(reply) };
}
