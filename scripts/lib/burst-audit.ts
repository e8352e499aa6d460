import { setTimeout as delay } from 'node:timers/promises';
import type { BurstTally } from './burst-tally.js';
import {
  errorCodeOf,
  type JsonReply,
  networkErrorCode,
  requestJson,
  retryAfterMs,
} from './http-json.js';
import { runLoad } from './load-runner.js';
import { startProgress } from './progress.js';
import { readSale, type SaleState } from './sale-admin.js';
import { formatCount } from './text-table.js';
import type { TokenPool } from './token-pool.js';

// After a burst, reads everything back through the HTTP API and checks the invariants from the
// client's side: every acknowledged order exists as acknowledged (I3), the sale sold no more
// than its stock and exactly what was acknowledged (I1), and no customer holds more than the
// cap (I2). Requests whose outcome the client never learned (a timeout, ENGINE_UNAVAILABLE) may
// have placed an order, so they widen the expected range instead of breaking it. A burst that got
// no order accepted from an open sale with stock checked nothing, and says so (UNCHECKED).

/** Reads in flight at once: enough to be quick, few enough not to be shed or rate limited. */
const AUDIT_CONCURRENCY = 32;
const READ_ATTEMPTS_MAX = 5;
/** Longest wait between two attempts, whatever Retry-After says. */
const RETRY_WAIT_MS_MAX = 2_000;
/** Problems listed one by one; past this, the rest are counted. */
const PROBLEM_LINES_MAX = 20;
/** Kinds of reply (codes, failures) quoted when a burst had none accepted. */
const REPLY_KINDS_LISTED_MAX = 3;
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'RATE_LIMITED',
  'OVERLOADED',
  'ENGINE_UNAVAILABLE',
]);

export interface AuditInput {
  readonly gatewayUrls: readonly string[];
  readonly saleId: string;
  readonly tokens: TokenPool;
  readonly tally: BurstTally;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly soldBefore: number;
}

export interface AuditFinding {
  /** `ok`, `BROKEN` (an invariant does not hold) or `UNCHECKED` (could not be read). */
  readonly verdict: 'ok' | 'BROKEN' | 'UNCHECKED';
  readonly line: string;
}

/** A GET that rides out shedding and rate limiting; a network error counts as a failed attempt. */
async function read(url: string, token: string): Promise<JsonReply | Error> {
  let last: JsonReply | Error = new Error('not tried');
  for (let attempt = 1; attempt <= READ_ATTEMPTS_MAX; attempt += 1) {
    try {
      last = await requestJson(url, { token });
      if (!RETRYABLE_CODES.has(errorCodeOf(last.body) ?? '')) return last;
      await delay(retryAfterMs(last.headers, RETRY_WAIT_MS_MAX));
    } catch (error) {
      last = new Error(networkErrorCode(error));
      await delay(RETRY_WAIT_MS_MAX);
    }
  }
  return last;
}

const describe = (reply: JsonReply | Error): string =>
  reply instanceof Error
    ? reply.message
    : `${reply.status} ${errorCodeOf(reply.body) ?? JSON.stringify(reply.body).slice(0, 200)}`;

function findingsOf(problems: readonly AuditFinding[], okLine: string): AuditFinding[] {
  if (problems.length === 0) return [{ verdict: 'ok', line: okLine }];
  const listed = problems.slice(0, PROBLEM_LINES_MAX);
  if (problems.length > listed.length)
    listed.push({
      verdict: problems.some((p) => p.verdict === 'BROKEN') ? 'BROKEN' : 'UNCHECKED',
      line: `... and ${formatCount(problems.length - listed.length)} more like these`,
    });
  return listed;
}

async function auditOrders(input: AuditInput): Promise<AuditFinding[]> {
  const { gatewayUrls, saleId, tokens, tally } = input;
  if (tally.accepted.length === 0) return [{ verdict: 'ok', line: 'no order was accepted' }];
  const progress = startProgress('audit: orders', tally.accepted.length);
  const run = await runLoad({
    total: tally.accepted.length,
    concurrency: AUDIT_CONCURRENCY,
    onAnswered: (n) => progress.update(n),
    send: async (i): Promise<AuditFinding | null> => {
      const order = tally.accepted[i]!;
      const url = `${gatewayUrls[i % gatewayUrls.length]!}/v1/orders/${encodeURIComponent(order.orderId)}`;
      const reply = await read(url, tokens.token(order.customer));
      const customerId = tokens.customerId(order.customer);
      if (reply instanceof Error || reply.status !== 200) {
        const lost = !(reply instanceof Error) && errorCodeOf(reply.body) === 'ORDER_NOT_FOUND';
        return {
          verdict: lost ? 'BROKEN' : 'UNCHECKED',
          line: `order ${order.orderId} of ${customerId} was acknowledged but reads back as ${describe(reply)}`,
        };
      }
      const stored = reply.body as Record<string, unknown>;
      const expected = { orderId: order.orderId, saleId, customerId, quantity: order.quantity };
      const differs = Object.entries(expected).filter(([field, value]) => stored[field] !== value);
      if (differs.length === 0) return null;
      return {
        verdict: 'BROKEN',
        line: `order ${order.orderId} reads back with ${differs
          .map(
            ([field, value]) =>
              `${field} ${JSON.stringify(stored[field])} (acknowledged: ${JSON.stringify(value)})`,
          )
          .join(', ')}`,
      };
    },
  });
  progress.finish();
  const problems = run.outcomes.filter((finding): finding is AuditFinding => finding !== null);
  return findingsOf(
    problems,
    `${formatCount(tally.accepted.length)} accepted orders read back (GET /v1/orders/:id, owner's token): each exists with the same id, quantity and customer`,
  );
}

async function auditCustomers(input: AuditInput): Promise<AuditFinding[]> {
  const { gatewayUrls, saleId, tokens, tally, perCustomerLimit } = input;
  const customers = [
    ...new Set([...tally.unitsByCustomer.keys(), ...tally.unknownUnitsByCustomer.keys()]),
  ];
  const ordersOf = new Map<number, string[]>();
  for (const order of tally.accepted)
    ordersOf.set(order.customer, [...(ordersOf.get(order.customer) ?? []), order.orderId]);
  if (customers.length === 0) return [{ verdict: 'ok', line: 'no customer bought in this run' }];
  let largest = 0;
  const progress = startProgress('audit: customers', customers.length);
  const run = await runLoad({
    total: customers.length,
    concurrency: AUDIT_CONCURRENCY,
    onAnswered: (n) => progress.update(n),
    send: async (i): Promise<AuditFinding | null> => {
      const customer = customers[i]!;
      const customerId = tokens.customerId(customer);
      const url = `${gatewayUrls[i % gatewayUrls.length]!}/v1/sales/${encodeURIComponent(saleId)}/me`;
      const reply = await read(url, tokens.token(customer));
      if (reply instanceof Error || reply.status !== 200)
        return { verdict: 'UNCHECKED', line: `${customerId}: GET /me gave ${describe(reply)}` };
      const mine = reply.body as { purchased: number; orders: { orderId: string }[] };
      largest = Math.max(largest, mine.purchased);
      const acknowledged = tally.unitsByCustomer.get(customer) ?? 0;
      const unknown = tally.unknownUnitsByCustomer.get(customer) ?? 0;
      if (mine.purchased > perCustomerLimit)
        return {
          verdict: 'BROKEN',
          line: `${customerId} holds ${mine.purchased} units, above the limit of ${perCustomerLimit}`,
        };
      if (mine.purchased < acknowledged || mine.purchased > acknowledged + unknown)
        return {
          verdict: 'BROKEN',
          line:
            `${customerId} holds ${mine.purchased} units but was acknowledged ${acknowledged}` +
            (unknown > 0 ? ` (plus up to ${unknown} of unknown outcome)` : ''),
        };
      const listed = new Set(mine.orders.map((order) => order.orderId));
      const missing = (ordersOf.get(customer) ?? []).filter((id) => !listed.has(id));
      if (missing.length > 0)
        return {
          verdict: 'BROKEN',
          line: `${customerId}'s orders lack acknowledged ${missing.join(', ')}`,
        };
      return null;
    },
  });
  progress.finish();
  const problems = run.outcomes.filter((finding): finding is AuditFinding => finding !== null);
  return findingsOf(
    problems,
    `${formatCount(customers.length)} customers who bought (GET /v1/sales/:id/me): at most ` +
      `${largest} units each (limit ${perCustomerLimit}), exactly what their replies acknowledged`,
  );
}

function auditStock(input: AuditInput, sale: SaleState): AuditFinding[] {
  const { tally, stock, soldBefore } = input;
  const sold = sale.stock - sale.remaining;
  const unknownUnits = [...tally.unknownUnitsByCustomer.values()].reduce((a, b) => a + b, 0);
  const soldNow = sold - soldBefore;
  const findings: AuditFinding[] = [];
  if (sale.stock !== stock)
    findings.push({
      verdict: 'BROKEN',
      line: `the sale's stock changed during the run: ${stock} → ${sale.stock}`,
    });
  if (sale.remaining < 0 || sold > sale.stock)
    findings.push({
      verdict: 'BROKEN',
      line: `oversold: ${sold} units sold of a stock of ${sale.stock} (remaining ${sale.remaining})`,
    });
  if (soldNow < tally.acceptedUnits || soldNow > tally.acceptedUnits + unknownUnits)
    findings.push({
      verdict: 'BROKEN',
      line:
        `the sale sold ${soldNow} units in this run (stock − remaining = ${sale.stock} − ` +
        `${sale.remaining}${soldBefore > 0 ? `, less ${soldBefore} sold before` : ''}) but ` +
        `${tally.acceptedUnits} were acknowledged` +
        (unknownUnits > 0 ? ` (plus up to ${unknownUnits} of unknown outcome)` : '') +
        '; another client buying in this sale meanwhile would also explain it',
    });
  return findingsOf(
    findings,
    `units sold ${sold} ≤ stock ${sale.stock}, and = stock − remaining (${sale.stock} − ` +
      `${sale.remaining}) = ${soldBefore > 0 ? `${soldBefore} before + ` : ''}` +
      `${tally.acceptedUnits} acknowledged` +
      (unknownUnits > 0 ? ` (+ ${soldNow - tally.acceptedUnits} of ${unknownUnits} unknown)` : ''),
  );
}

/**
 * A burst that had an open sale with stock and got no order accepted exercised nothing: every
 * check above holds vacuously (a gateway answering OVERLOADED to all, a wrong secret), so the
 * audit says it could not check, rather than passing.
 */
function auditExercised(input: AuditInput, sale: SaleState): AuditFinding[] {
  const { tally, stock, soldBefore, saleId } = input;
  if (tally.accepted.length > 0 || sale.status !== 'OPEN' || soldBefore >= stock) return [];
  const replies = [...tally.rejections, ...tally.failures]
    .slice(0, REPLY_KINDS_LISTED_MAX)
    .map(([what, count]) => `${what} ×${formatCount(count)}`)
    .join(', ');
  return [
    {
      verdict: 'UNCHECKED',
      line:
        `no order was accepted although sale ${saleId} is OPEN with ${formatCount(stock - soldBefore)} ` +
        `units left: the burst exercised nothing, so the checks here prove nothing (replies: ${replies})`,
    },
  ];
}

export async function auditBurst(input: AuditInput): Promise<AuditFinding[]> {
  const orders = await auditOrders(input);
  let sale: SaleState;
  try {
    sale = await readSale(input.gatewayUrls[0]!, input.saleId);
  } catch (error) {
    return [
      ...orders,
      { verdict: 'UNCHECKED', line: (error as Error).message },
      ...(await auditCustomers(input)),
    ];
  }
  return [
    ...auditExercised(input, sale),
    ...orders,
    ...auditStock(input, sale),
    ...(await auditCustomers(input)),
  ];
}
