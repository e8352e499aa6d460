import { performance } from 'node:perf_hooks';
import { joinQueue, solveFor } from '../../scripts/burst/waiting-room.js';
import { runLoad } from '../../scripts/client/load-runner.js';
import { placeOrder } from '../../scripts/client/order-placement.js';
import type { TokenPool } from '../../scripts/client/token-pool.js';
import { cpuBetween, type ProcessGroup, readCpu } from '../compare/cpu-usage.js';

// The customers' side of the lobby row, through the join gateways in turn: each customer fetches
// its challenge, solves it and joins (what the live page's widget does), or, for the baseline,
// places one order on a plain sale (a new customer and a new token each time, as in bench:http).
// Each run is timed and the server's CPU over it read from /proc.

export interface Joined {
  readonly customer: number;
  readonly status: number;
  readonly state: string | null;
  readonly ticket: number | null;
}

export interface MeasuredRun<T> {
  readonly results: readonly T[];
  readonly elapsedMs: number;
  /** CPU ms of the server's processes (gateways, engine, nats-server) over the run. */
  readonly serverCpuMs: number;
}

async function measured<T>(
  groups: readonly ProcessGroup[],
  run: () => Promise<readonly T[]>,
): Promise<MeasuredRun<T>> {
  const before = readCpu(groups);
  const started = performance.now();
  const results = await run();
  const elapsedMs = performance.now() - started;
  return { results, elapsedMs, serverCpuMs: cpuBetween(before, readCpu(groups)).serverMs };
}

export interface CustomerRange {
  readonly urls: readonly string[];
  readonly saleId: string;
  readonly tokens: TokenPool;
  /** Customers `from` … `to − 1` of the pool. */
  readonly from: number;
  readonly to: number;
  readonly concurrency: number;
}

export async function joinOne(range: CustomerRange, customer: number): Promise<Joined> {
  const url = range.urls[customer % range.urls.length] as string;
  const token = range.tokens.token(customer);
  const reply = await joinQueue(url, token, range.saleId, await solveFor(url, token, range.saleId));
  const body = reply.body as { state?: string; ticket?: number | null };
  return { customer, status: reply.status, state: body.state ?? null, ticket: body.ticket ?? null };
}

export function joinRange(
  range: CustomerRange,
  groups: readonly ProcessGroup[],
): Promise<MeasuredRun<Joined>> {
  return measured(groups, async () => {
    const run = await runLoad({
      total: range.to - range.from,
      concurrency: range.concurrency,
      send: (i) => joinOne(range, range.from + i),
    });
    return run.outcomes;
  });
}

/** One order per customer of the range on a plain sale: whether each was placed (201). */
export function orderRange(
  range: CustomerRange,
  groups: readonly ProcessGroup[],
): Promise<MeasuredRun<boolean>> {
  return measured(groups, async () => {
    const run = await runLoad({
      total: range.to - range.from,
      concurrency: range.concurrency,
      send: async (i) => {
        const customer = range.from + i;
        const url = range.urls[customer % range.urls.length] as string;
        const outcome = await placeOrder(url, range.saleId, range.tokens.token(customer), 1);
        return outcome.kind === 'accepted';
      },
    });
    return run.outcomes;
  });
}
