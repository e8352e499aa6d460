import { performance } from 'node:perf_hooks';

// The one load generator bench:compare drives both systems with: `concurrency` clients, each
// sending its next request as soon as its previous one is answered (a closed loop, like a
// browser that waits for its reply). Either a fixed list of requests (the burst) or as many as
// fit in a time window (the steady run). Latency is measured around `send`, reply read included.

export interface Timed<T> {
  readonly outcome: T;
  /** ms on the performance clock. */
  readonly startedMs: number;
  readonly latencyMs: number;
}

/** Sends requests 0 … total−1, at most `concurrency` in flight; results in index order. */
export async function runRequests<T>(
  total: number,
  concurrency: number,
  send: (index: number) => Promise<T>,
): Promise<{ readonly results: Timed<T>[]; readonly wallMs: number }> {
  const results = new Array<Timed<T>>(total);
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < total) {
      const index = next;
      next += 1;
      const startedMs = performance.now();
      const outcome = await send(index);
      results[index] = { outcome, startedMs, latencyMs: performance.now() - startedMs };
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, client));
  return { results, wallMs: performance.now() - started };
}

/**
 * Each of `concurrency` clients sends requests back to back for `warmUpMs + measureMs`; the
 * requests answered inside the last `measureMs` are the measurement, the rest are warm-up (JIT,
 * connections, pools) or stragglers, returned apart so an audit can count them all.
 */
export async function runForDuration<T>(
  concurrency: number,
  warmUpMs: number,
  measureMs: number,
  send: (client: number, n: number) => Promise<T>,
): Promise<{ readonly measured: Timed<T>[]; readonly unmeasured: T[]; readonly windowMs: number }> {
  const measured: Timed<T>[] = [];
  const unmeasured: T[] = [];
  const windowStart = performance.now() + warmUpMs;
  const windowEnd = windowStart + measureMs;
  const client = async (id: number): Promise<void> => {
    for (let n = 0; performance.now() < windowEnd; n += 1) {
      const startedMs = performance.now();
      const outcome = await send(id, n);
      const answeredMs = performance.now();
      if (answeredMs >= windowStart && answeredMs < windowEnd)
        measured.push({ outcome, startedMs, latencyMs: answeredMs - startedMs });
      else unmeasured.push(outcome);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, id) => client(id)));
  return { measured, unmeasured, windowMs: measureMs };
}

/** The q-quantile (0 < q ≤ 1) by nearest rank: a latency really observed; 0 when none. */
export function quantileMs(latenciesMs: readonly number[], q: number): number {
  if (latenciesMs.length === 0) return 0;
  const sorted = Float64Array.from(latenciesMs).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}
