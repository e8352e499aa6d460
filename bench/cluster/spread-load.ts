import type { TokenPool } from '../../scripts/client/token-pool.js';
import type { ProcessGroup } from '../compare/cpu-usage.js';
import { closedLoopOn, type MeasuredRun } from '../load/closed-loop.js';
import { openConnections } from '../load/connections.js';
import { endpointOf, type LoadConnection } from '../load/load-connection.js';
import { orderRequests } from '../load/request-pool.js';

// bench:http's closed loop (bench/load) spread over a stack's gateways: the connections are split
// between them evenly, then one loop runs over them all, drawing from one pool of requests (so no
// customer repeats across gateways) and reading every process's CPU at the window's two ends.
// Each request's bytes name the first gateway as their Host; the gateways route on the path only.

/** Refusals whose bodies are kept, to name their error codes: a sample, never the whole row. */
const KEPT_REFUSALS_MAX = 1_000;

export interface SpreadLoad {
  readonly gatewayUrls: readonly string[];
  readonly saleId: string;
  readonly customers: TokenPool;
  readonly connections: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
  readonly processes: readonly ProcessGroup[];
}

/** `total` split into `parts` counts that differ by one at most. */
export function splitEvenly(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor((total + parts - 1 - i) / parts));
}

export async function spreadClosedLoop(load: SpreadLoad): Promise<MeasuredRun> {
  const first = load.gatewayUrls[0];
  if (first === undefined) throw new Error('no gateway to load');
  if (load.connections < load.gatewayUrls.length)
    throw new Error(`${load.connections} connections for ${load.gatewayUrls.length} gateways`);
  const pool = orderRequests({
    endpoint: endpointOf(first),
    saleId: load.saleId,
    customers: load.customers,
  });
  let kept = 0;
  const keep = (_index: number, status: number): boolean => {
    if (status === 201 || kept >= KEPT_REFUSALS_MAX) return false;
    kept += 1;
    return true;
  };
  const counts = splitEvenly(load.connections, load.gatewayUrls.length);
  const connections: LoadConnection[] = [];
  try {
    for (const [i, url] of load.gatewayUrls.entries())
      connections.push(...(await openConnections(endpointOf(url), counts[i]!)));
    return await closedLoopOn(
      {
        url: first,
        connections: connections.length,
        pool,
        shape: { warmUpMs: load.warmUpMs, measureMs: load.measureMs },
        processes: load.processes,
        keep,
      },
      connections,
    );
  } finally {
    for (const connection of connections) connection.close();
  }
}
