import type { JetStreamManager } from '@nats-io/jetstream';
import { type AuditRow, rowOf } from '../audit/audit-rows.js';
import { requestJson } from '../client/http-json.js';
import type { ProbeResult } from './machine-failover.js';
import { fencingRow } from './machine-fencing.js';
import type { MachineRoundPlan } from './machine-plan.js';
import type { MachineRoundResult } from './machine-round.js';
import type { ChaosNats } from './nats-link.js';
import type { EngineReads } from './retrying-reads.js';
import type { Acknowledged } from './round-burst.js';
import { waitForShipping } from './shipping-settle.js';
import { auditStackChaos } from './stack-audit.js';

// The audit after each machine-loss round, of that round's sale: shipping left to settle, then
// the chaos run's audit (stack-audit.ts: answers, I5, I1–I3 with every acknowledged order read
// back through the gateways and from the engine now serving the sale, I4 at the carrier, dead
// letters), and the machine loss's own rows: fencing in the replicated log (I8), the sale served
// again, the lost node back with a current copy of every stream. A round's carrier book is the
// shipments of orders no earlier round had; a last row checks the whole book once at the end.

/** How long shipping may take to settle after a round before the audit counts stragglers. */
const SETTLE_TIMEOUT_MS = 60_000;
/** Not watched here: the rehearsal restarts what dies, and says so in its output. */
const PROCESSES_ROW = 'processes alive unless killed';
const SERVED_AGAIN = 'sale served again after the machine loss (failover)';
const REPLICAS_BACK = 'lost node back: 3 current replicas of every stream';

export interface MachineAuditContext {
  readonly link: ChaosNats;
  readonly client: EngineReads;
  readonly jsm: JetStreamManager;
  readonly gatewayUrls: readonly string[];
  readonly carrierUrl: string;
  /** Orders the carrier's book had before this round (their rounds audited them). */
  readonly earlierShipped: Set<string>;
}

export async function carrierBook(carrierUrl: string): Promise<Record<string, number>> {
  const reply = await requestJson(`${carrierUrl}/admin/shipments`);
  if (reply.status !== 200) throw new Error(`the carrier's book: ${reply.status}`);
  return (reply.body as { byOrder: Record<string, number> }).byOrder;
}

/** The probe's order counts as one of the burst's: acknowledged, or of unknown outcome. */
function withProbe(result: MachineRoundResult): {
  acknowledged: Acknowledged[];
  unknownUnits: Map<string, number>;
} {
  const { burst, probe, summary } = result;
  const acknowledged = [...burst.acknowledged];
  const unknownUnits = new Map(burst.unknownUnits);
  const outcome: ProbeResult = summary.probe;
  if (outcome.kind === 'served')
    acknowledged.push({
      orderId: outcome.order.orderId,
      saleId: summary.plan.saleId,
      customerId: probe.customerId,
      quantity: 1,
      key: probe.key,
      status: outcome.status === 200 ? 200 : 201,
    });
  else if (outcome.kind === 'never') unknownUnits.set(probe.customerId, 1);
  return { acknowledged, unknownUnits };
}

export async function auditMachineRound(
  context: MachineAuditContext,
  result: MachineRoundResult,
): Promise<AuditRow[]> {
  const { plan } = result.summary;
  const { acknowledged, unknownUnits } = withProbe(result);
  const customers = [...plan.customers, result.probe.customerId];
  const sale = { ...saleOf(plan), customers, unknownUnits };
  const settled = await waitForShipping(context.link.nc, context.client, [sale], SETTLE_TIMEOUT_MS);
  const tokens = new Map(plan.orders.map((o) => [o.customerId, o.token]));
  tokens.set(result.probe.customerId, result.probe.token);
  const book = await carrierBook(context.carrierUrl);
  const audit = await auditStackChaos({
    link: context.link,
    client: context.client,
    carrierStats: async () => ({ byOrder: withoutEarlier(book, context.earlierShipped) }),
    gatewayUrls: context.gatewayUrls,
    sales: [sale],
    acknowledged,
    tokenOf: (customerId) => tokens.get(customerId)!,
    settled,
    answerBreaches: result.burst.answerBreaches,
    answers: plan.orders.length,
    replayBreaches: result.burst.replayBreaches,
    replaysChecked: result.burst.replaysChecked,
    crashes: [],
    processesWatched: 0,
  });
  for (const orderId of Object.keys(book)) context.earlierShipped.add(orderId);
  const fencing = await fencingRow(context.link.nc, context.jsm, plan.saleId);
  return [
    ...audit.rows.filter((row) => row.check !== PROCESSES_ROW),
    fencing.row,
    ...lossRows(result),
  ];
}

const saleOf = (plan: MachineRoundPlan) => ({
  saleId: plan.saleId,
  stock: plan.stock,
  perCustomerLimit: plan.perCustomerLimit,
});

function withoutEarlier(book: Record<string, number>, earlier: Set<string>) {
  return Object.fromEntries(Object.entries(book).filter(([orderId]) => !earlier.has(orderId)));
}

function lossRows({ summary }: MachineRoundResult): AuditRow[] {
  const { probe, plan, lagging } = summary;
  const never =
    probe.kind === 'never'
      ? [`${plan.saleId}: no order served within the wait after the loss (${probe.last})`]
      : [];
  const notBack = lagging.map((line) => `round ${plan.round + 1}: ${line}`);
  return [rowOf(SERVED_AGAIN, 1, never), rowOf(REPLICAS_BACK, 1, notBack)];
}

/** The whole run's carrier book at the end: no order shipped more than once (I4). */
export async function wholeBookRow(carrierUrl: string): Promise<AuditRow> {
  const book = await carrierBook(carrierUrl);
  const twice = Object.entries(book)
    .filter(([, count]) => count > 1)
    .map(([orderId, count]) => `I4: ${orderId} has ${count} shipments at the carrier`);
  return rowOf('no order shipped twice over the whole run (I4)', Object.keys(book).length, twice);
}
