import { type AuditRow, type Check, RowBuilder, runChecks } from './audit-rows.js';
import type { AcknowledgedOrder, Holding, SaleReading } from './reading.js';

// The invariants every tool audits, as pure checks of what was read back (reading.ts):
//   I1  units sold (stock − remaining) ≤ stock; the customers' orders add up to them; and they
//       are the units acknowledged, give or take the requests of unknown outcome;
//   I2  every customer within the cap, its `purchased` the sum of its orders and what its replies
//       acknowledged (give or take, again);
//   I3  every acknowledged order there: among its customer's orders, and read back unchanged
//       where the tool reads orders one by one.
// A request whose outcome the client never learned (a timeout, ENGINE_UNAVAILABLE) may have
// placed an order: it widens the range expected instead of breaking it.

export const I1_CHECK = 'units sold <= stock, held and acknowledged (I1)';
export const I2_CHECK = 'customers within the cap (I2)';
export const I3_CHECK = 'acknowledged orders exist, read back (I3)';

const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};

const unitsOf = (holding: Holding): number => sum(holding.orders.map((order) => order.quantity));

const unknownSuffix = (units: number): string =>
  units > 0 ? ` (plus up to ${units} of unknown outcome)` : '';

function unitsByCustomer(acknowledged: readonly AcknowledgedOrder[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const { customerId, quantity } of acknowledged)
    units.set(customerId, (units.get(customerId) ?? 0) + quantity);
  return units;
}

/** I1: a row for the sale (checked: 1). */
export const soldWithinStock: Check = (reading) => {
  const row = new RowBuilder(I1_CHECK);
  row.checked = 1;
  const { saleId, configured, sale } = reading;
  if ('unread' in sale) {
    row.cannotRead(`sale ${saleId} could not be read: ${sale.unread}`);
    return row.row();
  }
  const sold = sale.stock - sale.remaining;
  const soldNow = sold - configured.soldBefore;
  if (sale.stock !== configured.stock)
    row.breach(`${saleId}: the stock became ${sale.stock} (configured ${configured.stock})`);
  if (sale.remaining < 0 || sold > sale.stock)
    row.breach(
      `I1: ${saleId} sold ${sold} units of a stock of ${sale.stock} (remaining ${sale.remaining})`,
    );
  if (reading.everyBuyerRead) heldUnitsAddUp(reading, sold, soldNow, row);
  const acknowledged =
    reading.acknowledgedUnits ?? sum(reading.acknowledged.map((a) => a.quantity));
  const unknown = sum(reading.unknownUnits.values());
  if (soldNow < acknowledged || soldNow > acknowledged + unknown)
    row.breach(
      `${saleId}: sold ${soldNow} units in the run but ${acknowledged} were acknowledged` +
        unknownSuffix(unknown),
    );
  return row.row();
};

/** Every sold unit is in an order of a customer who asked: nothing invented, nothing lost. */
function heldUnitsAddUp(reading: SaleReading, sold: number, soldNow: number, row: RowBuilder) {
  const { saleId, configured, unreadCustomers } = reading;
  if (unreadCustomers.length > 0) {
    row.cannotRead(`${saleId}: ${unreadCustomers.length} customer(s) unread, units not added up`);
    return;
  }
  const held = sum(reading.holdings.map(unitsOf));
  if (held === soldNow) return;
  const before =
    configured.soldBefore > 0 ? ` = ${sold}, less ${configured.soldBefore} sold before,` : '';
  row.breach(
    `${saleId}: stock − remaining${before} = ${soldNow} but its orders hold ${held} units`,
  );
}

/** I2: a row for the sale's customers (checked: the customers read). */
export const customersWithinCap: Check = (reading) => {
  const row = new RowBuilder(I2_CHECK);
  const acknowledged = unitsByCustomer(reading.acknowledged);
  for (const holding of reading.holdings) {
    row.checked += 1;
    checkCustomer(reading, holding, acknowledged.get(holding.customerId) ?? 0, row);
  }
  for (const { customerId, reason } of reading.unreadCustomers)
    row.cannotRead(`customer ${customerId} of ${reading.saleId} could not be read: ${reason}`);
  return row.row();
};

function checkCustomer(
  reading: SaleReading,
  holding: Holding,
  acknowledged: number,
  row: RowBuilder,
): void {
  const { saleId, configured } = reading;
  const { customerId, purchased, orders } = holding;
  const units = unitsOf(holding);
  if (units !== purchased)
    row.breach(`${customerId}: purchased says ${purchased} but its orders hold ${units} units`);
  const most = Math.max(units, purchased);
  if (most > configured.perCustomerLimit)
    row.breach(
      `I2: ${customerId} holds ${most} units of ${saleId} (cap ${configured.perCustomerLimit})`,
    );
  for (const order of orders)
    if ((order.customerId ?? customerId) !== customerId || (order.saleId ?? saleId) !== saleId)
      row.breach(
        `${customerId}'s orders list ${order.orderId} of ${order.customerId} in ${order.saleId}`,
      );
  const unknown = reading.unknownUnits.get(customerId) ?? 0;
  if (purchased < acknowledged || purchased > acknowledged + unknown)
    row.breach(
      `${customerId} holds ${purchased} units but was acknowledged ${acknowledged}` +
        unknownSuffix(unknown),
    );
}

/** I3: a row for the sale's acknowledged orders (checked: each of them). */
export const acknowledgedPresent: Check = (reading) => {
  const row = new RowBuilder(I3_CHECK);
  const listed = new Set(reading.holdings.flatMap((h) => h.orders.map((order) => order.orderId)));
  const read = new Set(reading.holdings.map((h) => h.customerId));
  const unread = new Set(reading.unreadCustomers.map((u) => u.customerId));
  for (const order of reading.acknowledged) {
    row.checked += 1;
    checkReadBack(reading, order, row);
    if (read.has(order.customerId)) {
      if (!listed.has(order.orderId))
        row.breach(
          `I3: acknowledged order ${order.orderId} is not among ${order.customerId}'s orders`,
        );
    } else if (!unread.has(order.customerId))
      row.cannotRead(`${order.customerId}'s orders were not read (order ${order.orderId})`);
  }
  return row.row();
};

function checkReadBack(reading: SaleReading, order: AcknowledgedOrder, row: RowBuilder): void {
  if (reading.readBack === undefined) return;
  const back = reading.readBack.get(order.orderId) ?? { kind: 'unread', reason: 'not read' };
  if (back.kind === 'missing') row.breach(`I3: acknowledged order ${order.orderId} is lost`);
  else if (back.kind === 'unread')
    row.cannotRead(`acknowledged order ${order.orderId} could not be read: ${back.reason}`);
  else if (
    back.customerId !== order.customerId ||
    back.quantity !== order.quantity ||
    (back.saleId ?? reading.saleId) !== reading.saleId
  )
    row.breach(
      `order ${order.orderId} changed: acknowledged ${order.quantity} unit(s) to ` +
        `${order.customerId} in ${reading.saleId}, reads back ${back.quantity} to ` +
        `${back.customerId} in ${back.saleId ?? reading.saleId}`,
    );
}

/** I1, I2 and I3, in that order: what every tool audits. */
export const INVARIANT_CHECKS: readonly Check[] = [
  soldWithinStock,
  customersWithinCap,
  acknowledgedPresent,
];

/** The invariants (and a tool's own checks after them) over every sale read: a row per check. */
export function auditSales(
  readings: readonly SaleReading[],
  extraChecks: readonly Check[] = [],
): AuditRow[] {
  return runChecks(readings, [...INVARIANT_CHECKS, ...extraChecks]);
}
