import type { Acknowledged } from './chaos-burst.js';
import { readOrder } from './chaos-client.js';
import {
  type CustomerHoldings,
  type EngineReads,
  mapLimited,
  readHoldings,
} from './chaos-holdings.js';
import type { ChaosNats } from './chaos-nats.js';
import type { Settled } from './chaos-settle.js';
import { readDeadLetters } from './dead-letters.js';

// The audit at the end of a chaos run: what must hold whatever was killed when. Each check is a
// row (how many things it looked at, how many breaches it found); every breach is also listed in
// words. Nothing here throws on a breach: a run reports all of them.

/** Gateway reads in flight at once while reading every acknowledged order back. */
const READ_BACK_CONCURRENCY = 32;

export interface AuditedSale {
  readonly saleId: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly customers: readonly string[];
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

export interface AuditRow {
  readonly check: string;
  readonly checked: number;
  readonly breaches: number;
}

export interface AuditResult {
  readonly rows: AuditRow[];
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
  const rows: AuditRow[] = [];
  const breaches: string[] = [];
  const row = (check: string, checked: number, found: readonly string[]) => {
    rows.push({ check, checked, breaches: found.length });
    breaches.push(...found);
  };

  row('answers as the contract says (201/200/409/503)', input.answers, input.answerBreaches);
  row('a replayed key answers 200 with its order (I5)', input.replaysChecked, input.replayBreaches);

  const holdings = await readHoldings(input.client, input.sales);
  const held = new Map(holdings.flatMap((h) => h.orders.map((o) => [o.orderId, o] as const)));
  row(
    'acknowledged orders exist, read back (I3)',
    input.acknowledged.length,
    await readBack(input, held),
  );
  row('same key, same order across all answers (I5)', input.acknowledged.length, sameKeys(input));

  const bySale = new Map<string, CustomerHoldings[]>();
  for (const h of holdings) {
    const list = bySale.get(h.saleId);
    if (list === undefined) bySale.set(h.saleId, [h]);
    else list.push(h);
  }
  const stockFound: string[] = [];
  const capFound: string[] = [];
  for (const sale of input.sales) {
    const sold = await auditSale(input.client, sale, bySale.get(sale.saleId) ?? []);
    stockFound.push(...sold.stock);
    capFound.push(...sold.cap);
  }
  row('units sold <= stock, all held by buyers (I1)', input.sales.length, stockFound);
  row('customers within the cap (I2)', holdings.length, capFound);

  const shipping = await auditShipping(input, [...held.values()]);
  row('orders shipped exactly once (carrier)', shipping.shipped, shipping.shippedFound);
  row('orders dead-lettered, visibly (ORDERS_DLQ)', shipping.deadLettered, shipping.deadFound);
  row('orders settled within the wait', held.size, shipping.pendingFound);
  row('carrier shipments all of known orders', shipping.carrierTotal, shipping.carrierFound);
  row('processes alive unless killed', input.processesWatched, input.crashes);

  return {
    rows,
    breaches,
    orders: held.size,
    shipped: shipping.shipped,
    deadLettered: shipping.deadLettered,
    deadLetteredShipped: shipping.deadLetteredShipped,
    deadLetterReasons: shipping.deadLetterReasons,
  };
}

/** Every acknowledged order, read by its customer through a gateway: there, and unchanged. */
async function readBack(
  input: AuditInput,
  held: ReadonlyMap<string, { customerId: string; quantity: number }>,
): Promise<string[]> {
  const found: string[] = [];
  await mapLimited(input.acknowledged, READ_BACK_CONCURRENCY, async (ack) => {
    const { outcome } = await readOrder(
      input.gatewayUrls,
      0,
      input.tokenOf(ack.customerId),
      ack.orderId,
      Math.random,
    );
    if (outcome === null) found.push(`I3: acknowledged order ${ack.orderId} is lost`);
    else if (typeof outcome === 'string')
      found.push(`acknowledged order ${ack.orderId} could not be read: ${outcome}`);
    else if (outcome.customerId !== ack.customerId || outcome.quantity !== ack.quantity)
      found.push(`order ${ack.orderId} changed: ${JSON.stringify(outcome)}`);
    const engine = held.get(ack.orderId);
    if (engine === undefined)
      found.push(`acknowledged order ${ack.orderId} missing from ${ack.customerId}'s orders`);
  });
  return found;
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

async function auditSale(
  client: EngineReads,
  sale: AuditedSale,
  holdings: readonly CustomerHoldings[],
): Promise<{ stock: string[]; cap: string[] }> {
  const stock: string[] = [];
  const cap: string[] = [];
  const view = await client.sale(sale.saleId);
  const sold = view.stock - view.remaining;
  if (view.stock !== sale.stock) stock.push(`${sale.saleId}: stock is ${view.stock}`);
  if (view.remaining < 0 || sold > sale.stock)
    stock.push(`I1: ${sale.saleId} sold ${sold} of ${sale.stock}`);
  let heldUnits = 0;
  for (const h of holdings) {
    heldUnits += h.purchased;
    const ordered = h.orders.reduce((sum, order) => sum + order.quantity, 0);
    if (ordered !== h.purchased)
      cap.push(`${h.customerId}: purchased ${h.purchased} but orders hold ${ordered} units`);
    if (h.purchased > sale.perCustomerLimit)
      cap.push(`I2: ${h.customerId} holds ${h.purchased} units (cap ${sale.perCustomerLimit})`);
  }
  // Every sold unit belongs to a customer who asked: nothing invented, nothing lost.
  if (heldUnits !== sold)
    stock.push(`${sale.saleId}: ${sold} units sold but the customers hold ${heldUnits}`);
  return { stock, cap };
}

interface HeldOrder {
  readonly orderId: string;
  readonly status: string;
  readonly trackingId: string | null;
}

async function auditShipping(input: AuditInput, orders: readonly HeldOrder[]) {
  const { byOrder } = await input.carrierStats();
  await input.link.connected();
  const letters = await readDeadLetters(input.link.nc);
  const dead = new Map(letters.map((letter) => [letter.orderId, letter.reason]));
  const deadLetterReasons: Record<string, number> = {};
  for (const { reason } of letters)
    deadLetterReasons[reason] = (deadLetterReasons[reason] ?? 0) + 1;
  const pending = new Set(input.settled.pending);
  const known = new Set(orders.map((o) => o.orderId));
  const shippedFound: string[] = [];
  const deadFound: string[] = [];
  const pendingFound: string[] = [];
  let shipped = 0;
  let deadLettered = 0;
  let deadLetteredShipped = 0;
  for (const order of orders) {
    const shipments = byOrder[order.orderId] ?? 0;
    if (order.status === 'SHIPPING_REQUESTED') {
      shipped += 1;
      if (shipments !== 1)
        shippedFound.push(`I4: ${order.orderId} has ${shipments} shipments at the carrier`);
      if (order.trackingId === null)
        shippedFound.push(`${order.orderId} is SHIPPING_REQUESTED without a tracking id`);
    } else if (order.status === 'SHIPPING_FAILED') {
      deadLettered += 1;
      if (shipments === 1) deadLetteredShipped += 1;
      if (!dead.has(order.orderId))
        deadFound.push(`${order.orderId} is SHIPPING_FAILED but not in ORDERS_DLQ`);
      if (shipments > 1)
        deadFound.push(`I4: dead-lettered ${order.orderId} has ${shipments} shipments`);
    } else {
      const letter = dead.get(order.orderId);
      pendingFound.push(
        `${order.orderId} still ${order.status} after the settle wait` +
          (pending.has(order.orderId) ? '' : ' (appeared after the wait)') +
          (letter === undefined ? '' : ` although dead-lettered ("${letter}")`),
      );
    }
  }
  const carrierFound: string[] = [];
  let carrierTotal = 0;
  for (const [orderId, count] of Object.entries(byOrder)) {
    carrierTotal += count;
    if (!known.has(orderId)) carrierFound.push(`the carrier shipped unknown order ${orderId}`);
  }
  return {
    shipped,
    deadLettered,
    deadLetteredShipped,
    deadLetterReasons,
    carrierTotal,
    shippedFound,
    deadFound,
    pendingFound,
    carrierFound,
  };
}
