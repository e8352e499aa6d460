import { performance } from 'node:perf_hooks';

// The steady load of bench:compare: `concurrency` clients, each sending its next request as soon
// as its previous one is answered (a closed loop, like a browser waiting for its reply), for as
// long as a time window lasts. The burst, a fixed list of requests, uses scripts/lib/load-runner.

export interface Answered<T> {
  /** Which client sent the request. */
  readonly client: number;
  readonly outcome: T;
}

export interface Timed<T> extends Answered<T> {
  readonly latencyMs: number;
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
): Promise<{
  readonly measured: Timed<T>[];
  readonly unmeasured: Answered<T>[];
  readonly windowMs: number;
}> {
  const measured: Timed<T>[] = [];
  const unmeasured: Answered<T>[] = [];
  const windowStart = performance.now() + warmUpMs;
  const windowEnd = windowStart + measureMs;
  const client = async (id: number): Promise<void> => {
    for (let n = 0; performance.now() < windowEnd; n += 1) {
      const startedMs = performance.now();
      const outcome = await send(id, n);
      const answeredMs = performance.now();
      if (answeredMs >= windowStart && answeredMs < windowEnd)
        measured.push({ client: id, outcome, latencyMs: answeredMs - startedMs });
      else unmeasured.push({ client: id, outcome });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, id) => client(id)));
  return { measured, unmeasured, windowMs: measureMs };
}
