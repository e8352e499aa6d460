import { performance } from 'node:perf_hooks';

// Sends `total` requests with at most `concurrency` in flight: each worker takes the next index
// as soon as its previous request is answered, so the load stays at the chosen concurrency until
// the last ones. The latency of each request is measured around `send` (so it includes reading
// the reply), in the order of the indexes.

export interface LoadOptions<T> {
  readonly total: number;
  readonly concurrency: number;
  /** Sends request `index` and reports its outcome; a throw stops the run and rejects it. */
  readonly send: (index: number) => Promise<T>;
  /** Called after each answer with the number answered so far. */
  readonly onAnswered?: (answered: number) => void;
}

export interface LoadRun<T> {
  /** `outcomes[i]` is what `send(i)` returned. */
  readonly outcomes: readonly T[];
  /** `latenciesMs[i]` is how long `send(i)` took. */
  readonly latenciesMs: Float64Array;
  readonly elapsedMs: number;
}

export async function runLoad<T>(options: LoadOptions<T>): Promise<LoadRun<T>> {
  const { total, concurrency, send, onAnswered } = options;
  const outcomes = new Array<T>(total);
  const latenciesMs = new Float64Array(total);
  let next = 0;
  let answered = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < total && !failed) {
      const index = next;
      next += 1;
      const started = performance.now();
      try {
        outcomes[index] = await send(index);
      } catch (error) {
        failed = true;
        throw error;
      }
      latenciesMs[index] = performance.now() - started;
      answered += 1;
      onAnswered?.(answered);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
  return { outcomes, latenciesMs, elapsedMs: performance.now() - started };
}

/** `fn` over the items, at most `limit` at a time; the results in the items' order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const run = await runLoad({
    total: items.length,
    concurrency: limit,
    send: (i) => fn(items[i]!),
  });
  return [...run.outcomes];
}
