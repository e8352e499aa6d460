import { type AuditResult, auditRun } from './audit.js';
import { planBurst } from './burst-plan.js';
import { quantileMs, runForDuration, runRequests } from './closed-loop.js';
import { type CpuReading, type CpuSpent, cpuBetween, readCpu } from './cpu-usage.js';
import type { Customers } from './customers.js';
import { placeOrder, sendJson } from './order-client.js';
import type { SystemUnderTest } from './systems.js';
import { count, emptyTally, type Tally } from './tally.js';

// The two loads of bench:compare, each run the same way against either system:
//   burst  — the opening second: a fixed list of orders from many customers on a small stock,
//            all sent at once at high concurrency; measured from the first request to the last
//            reply;
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
  const reply = await sendJson(`${system.url}/v1/admin/sales/${saleId}`, 'PUT', adminToken, {
    name: `bench:compare ${saleId}`,
    ...settings,
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
  customers: Customers,
): Promise<RunResult> {
  const plan = planBurst(shape.customers, shape.requests, shape.seed);
  const run = await runRequests(plan.length, shape.concurrency, (i) =>
    placeOrder(system.url, saleId, customers.token(plan[i]!.customer), plan[i]!.quantity),
  );
  const tally = emptyTally();
  for (const [i, { outcome }] of run.results.entries())
    count(tally, plan[i]!.customer, plan[i]!.quantity, outcome);
  const latencies = run.results.map((result) => result.latencyMs);
  const audit = await auditRun({ system, saleId, ...sale, customers, tally });
  return {
    tally,
    requests: plan.length,
    p50Ms: quantileMs(latencies, 0.5),
    p99Ms: quantileMs(latencies, 0.99),
    wallMs: run.wallMs,
    acceptedPerSecond: tally.accepted.length / (run.wallMs / 1000),
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
  customers: Customers,
): Promise<RunResult> {
  const readings: { start?: CpuReading; end?: CpuReading } = {};
  const startReading = setTimeout(() => {
    readings.start = readCpu(system.processes);
  }, shape.warmUpMs);
  const endReading = setTimeout(() => {
    readings.end = readCpu(system.processes);
  }, shape.warmUpMs + shape.measureMs);
  const run = await runForDuration(
    shape.clients,
    shape.warmUpMs,
    shape.measureMs,
    async (client) => ({
      customer: client,
      outcome: await placeOrder(system.url, saleId, customers.token(client), 1),
    }),
  );
  // The audit needs every order of the run, warm-up included; the figures only the window's.
  const tally = emptyTally();
  for (const { customer, outcome } of [...run.measured.map((m) => m.outcome), ...run.unmeasured])
    count(tally, customer, 1, outcome);
  const measuredTally = emptyTally();
  for (const { outcome } of run.measured)
    count(measuredTally, outcome.customer, 1, outcome.outcome);
  clearTimeout(startReading);
  clearTimeout(endReading);
  const { start, end } = readings;
  const cpu = start !== undefined && end !== undefined ? cpuBetween(start, end) : undefined;
  const latencies = run.measured.map((m) => m.latencyMs);
  const audit = await auditRun({ system, saleId, ...sale, customers, tally });
  return {
    cpu,
    tally: measuredTally,
    requests: run.measured.length,
    p50Ms: quantileMs(latencies, 0.5),
    p99Ms: quantileMs(latencies, 0.99),
    wallMs: run.windowMs,
    acceptedPerSecond: measuredTally.accepted.length / (run.windowMs / 1000),
    audit,
  };
}
