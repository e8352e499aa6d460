import { planBurst } from '../../scripts/burst/plan.js';
import { requestJson } from '../../scripts/client/http-json.js';
import { summarizeLatencies } from '../../scripts/client/latency-stats.js';
import { runLoad } from '../../scripts/client/load-runner.js';
import { placeOrder } from '../../scripts/client/order-placement.js';
import type { TokenPool } from '../../scripts/client/token-pool.js';
import { closedLoop } from '../load/closed-loop.js';
import { endpointOf } from '../load/load-connection.js';
import { orderRequests } from '../load/request-pool.js';
import { type AuditResult, auditRun } from './audit.js';
import { type CpuSpent, cpuBetween, readCpu } from './cpu-usage.js';
import { steadyTallies } from './steady-tally.js';
import type { SystemUnderTest } from './systems.js';
import { count, emptyTally, type Tally } from './tally.js';

// The two loads of bench:compare, each run the same way against either system:
//   burst  — the opening second: a fixed list of orders from many customers on a small stock,
//            all sent at once at high concurrency over connections already open; measured from
//            the first request to the last reply;
//   steady — durable accepts in the opening second's mix: N connections ordering back to back on
//            a stock that never runs out, every request from a new customer with a token of its
//            own (bench/load, the generator of bench:http), after a warm-up; orders per second,
//            latency and CPU inside the measurement window.
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
  /** CPU each of the system's processes spent: the steady window, or the burst from first to last. */
  readonly cpu: CpuSpent;
  /** Steady: requests past the customer pool's size, each repeating an earlier customer's. */
  readonly repeated?: number;
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
  const cpuBefore = readCpu(system.processes);
  const run = await runLoad({
    total: plan.length,
    concurrency: shape.concurrency,
    send: (i) =>
      placeOrder(system.url, saleId, customers.token(plan[i]!.customer), plan[i]!.quantity),
  });
  const cpu = cpuBetween(cpuBefore, readCpu(system.processes));
  const tally = emptyTally();
  for (const [i, outcome] of run.outcomes.entries())
    count(tally, plan[i]!.customer, plan[i]!.quantity, outcome);
  const latency = summarizeLatencies(run.latenciesMs);
  const audit = await auditRun({ system, saleId, ...sale, customers, tally });
  return {
    cpu,
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

/** About this many buyers of a steady run are read back by the audit, every reply of theirs kept. */
const AUDITED_BUYERS = 1_000;

/**
 * `clients` connections ordering back to back, the opening second's mix: request i is from
 * customer i, with that customer's own token and an Idempotency-Key of its own, 1 unit each.
 */
export async function runSteady(
  system: SystemUnderTest,
  saleId: string,
  sale: SaleSettings,
  shape: SteadyShape,
  customers: TokenPool,
): Promise<RunResult> {
  const pool = orderRequests({
    endpoint: endpointOf(system.url),
    saleId,
    customers,
    idempotencyKeyPrefix: `${saleId}-`,
  });
  const sampleEvery = Math.max(1, Math.ceil(customers.size / AUDITED_BUYERS));
  const run = await closedLoop({
    url: system.url,
    connections: shape.clients,
    pool,
    shape: { warmUpMs: shape.warmUpMs, measureMs: shape.measureMs },
    processes: system.processes,
    keep: (index, status) => status !== 201 || (index % customers.size) % sampleEvery === 0,
  });
  const { whole, measured } = steadyTallies(run, customers.size);
  const audit = await auditRun({ system, saleId, ...sale, customers, tally: whole });
  return {
    cpu: run.cpu,
    tally: measured,
    requests: run.latenciesMs.length,
    p50Ms: run.latency.p50Ms,
    p99Ms: run.latency.p99Ms,
    wallMs: run.windowMs,
    acceptedPerSecond: measured.acceptedUnits / (run.windowMs / 1000),
    repeated: run.repeated,
    audit,
  };
}
