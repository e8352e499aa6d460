import { type AuditRow, failuresOf, rowOf } from '../audit/audit-rows.js';
import { type EngineHolding, readSaleFromEngine } from '../audit/engine-reader.js';
import { readOrdersOverHttp } from '../audit/http-reader.js';
import { auditSales } from '../audit/invariants.js';
import type { SaleReading } from '../audit/reading.js';
import type { ChaosNats } from './nats-link.js';
import type { EngineReads } from './retrying-reads.js';
import type { Acknowledged } from './round-burst.js';
import { auditShipping } from './shipping-audit.js';
import type { Settled } from './shipping-settle.js';

// The audit at the end of a chaos run: what must hold whatever was killed when. I1-I3 as every
// tool checks them (scripts/audit): the engine read back over NATS, every acknowledged order
// read back by its customer through a gateway. Around them, the chaos run's own rows: answers
// within the contract, replays and keys (I5), shipping (I4, dead letters, settling) and the
// processes. Each check is a row (how many things it looked at, what it found); every breach is
// also listed in words. Nothing here throws on a breach: a run reports all of them.

export interface AuditedSale {
  readonly saleId: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly customers: readonly string[];
  /** Units of the orders whose outcome the client never learned, per customer. */
  readonly unknownUnits: ReadonlyMap<string, number>;
}

export interface AuditInput {
  readonly link: ChaosNats;
  readonly client: EngineReads;
  readonly carrierStats: () => Promise<{ readonly byOrder: Readonly<Record<string, number>> }>;
  readonly gatewayUrls: readonly string[];
  readonly sales: readonly AuditedSale[];
  readonly acknowledged: readonly Acknowledged[];
  readonly tokenOf: (customerId: string) => string;
  readonly settled: Settled;
  /** Contract breaches seen in the answers during the bursts. */
  readonly answerBreaches: readonly string[];
  readonly answers: number;
  readonly replayBreaches: readonly string[];
  readonly replaysChecked: number;
  /** Processes that died without being killed. */
  readonly crashes: readonly string[];
  readonly processesWatched: number;
}

export interface AuditResult {
  readonly rows: AuditRow[];
  /** Every breach, and everything that could not be read, in words. */
  readonly breaches: string[];
  /** Orders the engine holds: acknowledged ones and those whose answer was lost. */
  readonly orders: number;
  readonly shipped: number;
  readonly deadLettered: number;
  /**
   * Dead-lettered orders the carrier did ship (its answer lost, then every later call failed):
   * SHIPPING_FAILED is then too pessimistic, and replaying the dead letters finds the shipment.
   */
  readonly deadLetteredShipped: number;
  /** Why shipments were given up, as the dead letters say, with counts. */
  readonly deadLetterReasons: Readonly<Record<string, number>>;
}

export async function auditStackChaos(input: AuditInput): Promise<AuditResult> {
  const readings = await Promise.all(input.sales.map((sale) => readSale(input, sale)));
  const orders = readings.flatMap((r) => r.holdings.flatMap((h) => h.orders));
  const shipping = await auditShipping(input, orders);
  const rows = [
    rowOf('answers as the contract says (201/200/409/503)', input.answers, input.answerBreaches),
    rowOf(
      'a replayed key answers 200 with its order (I5)',
      input.replaysChecked,
      input.replayBreaches,
    ),
    ...auditSales(readings),
    rowOf(
      'same key, same order across all answers (I5)',
      input.acknowledged.length,
      sameKeys(input),
    ),
    rowOf('orders shipped exactly once (carrier)', shipping.shipped, shipping.shippedFound),
    rowOf('orders dead-lettered, visibly (ORDERS_DLQ)', shipping.deadLettered, shipping.deadFound),
    rowOf('orders settled within the wait', orders.length, shipping.pendingFound),
    rowOf('carrier shipments all of known orders', shipping.carrierTotal, shipping.carrierFound),
    rowOf('processes alive unless killed', input.processesWatched, input.crashes),
  ];
  return {
    rows,
    breaches: failuresOf(rows),
    orders: orders.length,
    shipped: shipping.shipped,
    deadLettered: shipping.deadLettered,
    deadLetteredShipped: shipping.deadLetteredShipped,
    deadLetterReasons: shipping.deadLetterReasons,
  };
}

interface EngineSaleReading extends SaleReading {
  readonly holdings: readonly EngineHolding[];
}

/** One sale as the engine holds it, its acknowledged orders read back through the gateways. */
async function readSale(input: AuditInput, sale: AuditedSale): Promise<EngineSaleReading> {
  const { saleId, stock, perCustomerLimit } = sale;
  const acknowledged = input.acknowledged.filter((ack) => ack.saleId === saleId);
  const target = { gatewayUrls: input.gatewayUrls, saleId, tokenOf: input.tokenOf };
  return {
    saleId,
    configured: { stock, perCustomerLimit, soldBefore: 0 },
    ...(await readSaleFromEngine(input.client, saleId, sale.customers)),
    everyBuyerRead: true,
    acknowledged,
    unknownUnits: sale.unknownUnits,
    readBack: await readOrdersOverHttp(target, acknowledged),
  };
}

/** One order per (customer, key): two answers naming different orders would be a double sale. */
function sameKeys(input: AuditInput): string[] {
  const byKey = new Map<string, string>();
  const found: string[] = [];
  for (const ack of input.acknowledged) {
    const key = `${ack.saleId}/${ack.customerId}/${ack.key}`;
    const seen = byKey.get(key);
    if (seen !== undefined && seen !== ack.orderId)
      found.push(`I5: key ${key} answered with ${seen} and ${ack.orderId}`);
    byKey.set(key, ack.orderId);
  }
  return found;
}
