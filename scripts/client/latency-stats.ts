// Latency percentiles by the nearest-rank method: the p-th percentile is a latency that was really
// observed, never an interpolation between two.

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The q-quantile (0 < q ≤ 1) of latencies sorted in ascending order; 0 when there are none. */
export function quantile(sortedMs: ArrayLike<number>, q: number): number {
  if (sortedMs.length === 0) return 0;
  const rank = Math.ceil(q * sortedMs.length);
  return sortedMs[Math.min(sortedMs.length, Math.max(1, rank)) - 1]!;
}

export function summarizeLatencies(latenciesMs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    count: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p95Ms: quantile(sorted, 0.95),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
  };
}
