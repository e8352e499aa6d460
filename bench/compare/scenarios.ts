import { planBurst } from '../../scripts/lib/burst-plan.js';
import { requestJson } from '../../scripts/lib/http-json.js';
import { summarizeLatencies } from '../../scripts/lib/latency-stats.js';
import { runLoad } from '../../scripts/lib/load-runner.js';
import { placeOrder } from '../../scripts/lib/order-placement.js';
import type { TokenPool } from '../../scripts/lib/token-pool.js';
import { type AuditResult, auditRun } from './audit.js';
import { type CpuReading, type CpuSpent, cpuBetween, readCpu } from './cpu-usage.js';
import { outcomeOf, runSteadyClients } from './steady-client.js';
import type { SystemUnderTest } from './systems.js';
import { count, emptyTally, type Tally } from './tally.js';

// The two loads of bench:compare, each run the same way against either system:
//   burst  — the opening second: a fixed list of orders from many customers on a small stock,
//            all sent at once at high concurrency over connections already open; measured from
//            the first request to the last reply;
//   steady — durable accepts: N clients ordering back to back on a stock that never runs out,
//            after a warm-up; orders per second and latency inside the measurement window.
// Each run ends with an audit of the invariants through the system's own API.

export interface SaleSettings {
  readonly stock: number;
  readonly perCustomerLimit: number;
}

export interface RunResult {
  readonly tally: Tally;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Burst: first request to last reply. Steady: the measurement window. */
  readonly wallMs: number;
  /** Steady: 201s answered inside the window, per second. Burst: the same over its wall time. */
  readonly acceptedPerSecond: number;
  readonly audit: AuditResult;
  /** Steady: CPU each of the system's processes spent inside the measurement window. */
  readonly cpu?: CpuSpent;
}

export async function createSale(
  system: SystemUnderTest,
  adminToken: string,
  saleId: string,
  settings: SaleSettings,
): Promise<void> {
  const reply = await requestJson(`${system.url}/v1/admin/sales/${saleId}`, {
    method: 'PUT',
    token: adminToken,
    body: { name: `bench:compare ${saleId}`, ...settings },
  });
  if (reply.status !== 201)
    throw new Error(
      `${system.name}: creating ${saleId} gave ${reply.status} ${JSON.stringify(reply.body)}`,
    );
}

export interface BurstShape {
  readonly customers: number;
  readonly requests: number;
  readonly concurrency: number;
  readonly seed: number;
}

export async function runBurst(
  system: SystemUnderTest,
  saleId: string,
  sale: SaleSettings,
  shape: BurstShape,
  customers: TokenPool,
): Promise<RunResult> {
  const plan = planBurst(shape.customers, shape.requests, shape.seed);
  // The buyers are already on the sale's page when it opens: each client's connection was opened
  // by loading the sale (GET /v1/sales/:id), as a browser's would be. Otherwise the p99 of both
  // systems is set by hundreds of TCP connections accepted in the same instant, not by orders.
  await runLoad({
    total: shape.concurrency,
    concurrency: shape.concurrency,
    send: () => requestJson(`${system.url}/v1/sales/${saleId}`),
  });
  const run = await runLoad({
    total: plan.length,
    concurrency: shape.concurrency,
    send: (i) =>
      placeOrder(system.url, saleId, customers.token(plan[i]!.customer), plan[i]!.quantity),
  });
  const tally = emptyTally();
  for (const [i, outcome] of run.outcomes.entries())
    count(tally, plan[i]!.customer, plan[i]!.quantity, outcome);
  const latency = summarizeLatencies(run.latenciesMs);
  const audit = await auditRun({ system, saleId, ...sale, customers, tally });
  return {
    tally,
    requests: plan.length,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    wallMs: run.elapsedMs,
    acceptedPerSecond: tally.accepted.length / (run.elapsedMs / 1000),
    audit,
  };
}

export interface SteadyShape {
  readonly clients: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
}

/** Client i is customer i of `customers` and orders 1 unit at a time. */
export async function runSteady(
  system: SystemUnderTest,
  saleId: string,
  sale: SaleSettings,
  shape: SteadyShape,
  customers: TokenPool,
): Promise<RunResult> {
  const readings: { start?: CpuReading; end?: CpuReading } = {};
  const startReading = setTimeout(() => {
    readings.start = readCpu(system.processes);
  }, shape.warmUpMs);
  const endReading = setTimeout(() => {
    readings.end = readCpu(system.processes);
  }, shape.warmUpMs + shape.measureMs);
  const run = await runSteadyClients(
    system.url,
    saleId,
    (client) => customers.token(client),
    shape,
  );
  // The audit needs every order of the run, warm-up included; the figures only the window's.
  const tally = emptyTally();
  const measuredTally = emptyTally();
  for (const { client, outcome } of run.measured) {
    const sorted = outcomeOf(outcome);
    count(tally, client, 1, sorted);
    count(measuredTally, client, 1, sorted);
  }
  for (const { client, outcome } of run.unmeasured) count(tally, client, 1, outcomeOf(outcome));
  clearTimeout(startReading);
  clearTimeout(endReading);
  const { start, end } = readings;
  const cpu = start !== undefined && end !== undefined ? cpuBetween(start, end) : undefined;
  const latency = summarizeLatencies(run.measured.map((m) => m.latencyMs));
  const audit = await auditRun({ system, saleId, ...sale, customers, tally });
  return {
    cpu,
    tally: measuredTally,
    requests: run.measured.length,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    wallMs: run.windowMs,
    acceptedPerSecond: measuredTally.accepted.length / (run.windowMs / 1000),
    audit,
  };
}
