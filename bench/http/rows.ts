import type { TokenPool } from '../../scripts/client/token-pool.js';
import type { ProcessGroup } from '../compare/cpu-usage.js';
import { closedLoop, type MeasuredRun } from '../load/closed-loop.js';
import { endpointOf } from '../load/load-connection.js';
import { openLoop } from '../load/open-loop.js';
import { orderRequests } from '../load/request-pool.js';
import type { Row } from './report.js';

// The three kinds of row of bench:http, each one call of the load generator with the requests
// built for it (orders of one unit on the row's sale, customer i's token on request i):
//   - rate: a closed loop on established connections, a warm-up, then a measured window;
//   - burst: a fixed number of orders from as many customers, all measured, first to last;
//   - latency: an open loop at a set rate, latency from each request's scheduled time.

/** Where a row sends its load, and whose CPU it reads. */
export interface Target {
  readonly url: string;
  readonly processes: readonly ProcessGroup[];
}

export interface Timing {
  readonly warmUpMs: number;
  readonly measureMs: number;
}

export interface RowLoad {
  readonly target: Target;
  readonly saleId: string;
  readonly customers: TokenPool;
  readonly connections: number;
}

function requestsOf(load: RowLoad) {
  return orderRequests({
    endpoint: endpointOf(load.target.url),
    saleId: load.saleId,
    customers: load.customers,
  });
}

export function rateRow(load: RowLoad, timing: Timing): Promise<MeasuredRun> {
  return closedLoop({
    url: load.target.url,
    connections: load.connections,
    pool: requestsOf(load),
    shape: { warmUpMs: timing.warmUpMs, measureMs: timing.measureMs },
    processes: load.target.processes,
  });
}

export function burstRow(load: RowLoad, requests: number): Promise<MeasuredRun> {
  return closedLoop({
    url: load.target.url,
    connections: load.connections,
    pool: requestsOf(load),
    shape: { requests },
    processes: load.target.processes,
  });
}

export function latencyRow(load: RowLoad, timing: Timing, ratePerS: number): Promise<MeasuredRun> {
  return openLoop({
    url: load.target.url,
    connections: load.connections,
    pool: requestsOf(load),
    ratePerS,
    warmUpMs: timing.warmUpMs,
    measureMs: timing.measureMs,
    processes: load.target.processes,
  });
}

/** Runs one row, saying which and what it measured as it goes (a full run takes minutes). */
export async function measureRow(
  name: string,
  unit: Row['unit'],
  measure: () => Promise<MeasuredRun>,
  more: { readonly baseline?: Row | undefined; readonly note?: string } = {},
): Promise<Row> {
  console.log(`  ${name}…`);
  const run = await measure();
  const figure =
    unit === 'ms p99' ? `p99 ${run.latency.p99Ms.toFixed(1)} ms` : `${Math.round(run.perSecond)}/s`;
  console.log(`    ${figure}, ${run.answered.toLocaleString('en-US')} replies`);
  const { baseline, note } = more;
  return {
    name,
    unit,
    run,
    ...(baseline === undefined ? {} : { baseline }),
    ...(note === undefined ? {} : { note }),
  };
}
