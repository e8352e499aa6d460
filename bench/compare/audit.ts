import { requestJson } from '../../scripts/lib/http-json.js';
import { runLoad } from '../../scripts/lib/load-runner.js';
import type { TokenPool } from '../../scripts/lib/token-pool.js';
import type { SystemUnderTest } from './systems.js';
import { type Tally, unknownUnits } from './tally.js';

// After a run, reads the sale and every customer who bought back through the system's own HTTP
// API and checks the invariants from the client's side: units sold ≤ stock and equal to the units
// acknowledged (I1), no customer above the cap (I2), every acknowledged order there (I3).
// Requests of unknown outcome widen the expected range instead of breaking it.

/** Reads in flight at once during an audit. */
const AUDIT_CONCURRENCY = 32;
/** Problems listed one by one; past this they are only counted. */
const PROBLEMS_LISTED_MAX = 10;

export interface AuditResult {
  readonly ok: boolean;
  /** One line per check, or per problem found. */
  readonly lines: string[];
  readonly sold: number;
  readonly largestPerCustomer: number;
}

export interface AuditInput {
  readonly system: SystemUnderTest;
  readonly saleId: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly customers: TokenPool;
  readonly tally: Tally;
}

interface MyOrders {
  purchased: number;
  orders: { orderId: string }[];
}

export async function auditRun(input: AuditInput): Promise<AuditResult> {
  const { system, saleId, stock, perCustomerLimit, customers, tally } = input;
  const problems: string[] = [];
  const sale = await requestJson(`${system.url}/v1/sales/${saleId}`);
  if (sale.status !== 200) throw new Error(`${system.name}: GET sale gave ${sale.status}`);
  const { remaining, stock: saleStock } = sale.body as { remaining: number; stock: number };
  const sold = saleStock - remaining;
  const unknown = unknownUnits(tally);
  if (saleStock !== stock) problems.push(`stock changed: ${stock} → ${saleStock}`);
  if (remaining < 0 || sold > stock) problems.push(`oversold: ${sold} units of ${stock}`);
  if (sold < tally.acceptedUnits || sold > tally.acceptedUnits + unknown)
    problems.push(
      `sold ${sold} units but acknowledged ${tally.acceptedUnits}` +
        (unknown > 0 ? ` (+ up to ${unknown} of unknown outcome)` : ''),
    );

  const orderIdsOf = new Map<number, string[]>();
  for (const order of tally.accepted)
    orderIdsOf.set(order.customer, [...(orderIdsOf.get(order.customer) ?? []), order.orderId]);
  const buyers = [
    ...new Set([...tally.unitsByCustomer.keys(), ...tally.unknownUnitsByCustomer.keys()]),
  ];
  let largest = 0;
  /** A problem with one buyer's holding, or null. */
  const checkBuyer = async (customer: number): Promise<string | null> => {
    const who = customers.customerId(customer);
    const reply = await requestJson(`${system.url}/v1/sales/${saleId}/me`, {
      token: customers.token(customer),
    });
    if (reply.status !== 200) return `${who}: GET /me gave ${reply.status}`;
    const mine = reply.body as MyOrders;
    largest = Math.max(largest, mine.purchased);
    const acknowledged = tally.unitsByCustomer.get(customer) ?? 0;
    const maybe = tally.unknownUnitsByCustomer.get(customer) ?? 0;
    if (mine.purchased > perCustomerLimit)
      return `${who} holds ${mine.purchased} units, above the cap of ${perCustomerLimit}`;
    if (mine.purchased < acknowledged || mine.purchased > acknowledged + maybe)
      return `${who} holds ${mine.purchased} units but was acknowledged ${acknowledged}`;
    const listed = new Set(mine.orders.map((order) => order.orderId));
    const missing = (orderIdsOf.get(customer) ?? []).filter((id) => !listed.has(id));
    if (missing.length > 0) return `${who} lacks acknowledged order(s) ${missing.join(', ')}`;
    return null;
  };
  const reads = await runLoad({
    total: buyers.length,
    concurrency: AUDIT_CONCURRENCY,
    send: (i) => checkBuyer(buyers[i]!),
  });
  for (const outcome of reads.outcomes) if (outcome !== null) problems.push(outcome);

  const lines =
    problems.length === 0
      ? [
          `sold ${sold} ≤ stock ${stock}, = ${tally.acceptedUnits} units acknowledged`,
          `${buyers.length} buyers read back: at most ${largest} units each ` +
            `(cap ${perCustomerLimit}), every acknowledged order listed`,
        ]
      : problems.slice(0, PROBLEMS_LISTED_MAX);
  if (problems.length > PROBLEMS_LISTED_MAX)
    lines.push(`… and ${problems.length - PROBLEMS_LISTED_MAX} more problems`);
  return { ok: problems.length === 0, lines, sold, largestPerCustomer: largest };
}
