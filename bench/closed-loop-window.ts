import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { summarizeLatencies } from '../scripts/lib/latency-stats.js';
import {
  type CpuReading,
  type CpuSpent,
  cpuBetween,
  type ProcessGroup,
  readCpu,
} from './compare/cpu-usage.js';

// A closed-loop row of bench:http and bench:http-floor: autocannon on established connections,
// every reply's latency and status, and the CPU each process spent inside the measured window.

/** The measured window, unless the caller sets another. */
export const MEASURE_S = 4;
/** A throwaway run before each row: the first connection storm on a port (see `measure`). */
const CONNECT_WARMUP_S = 1;
/** Then, on the measured run's connections, at least this long unmeasured: JIT, stock cache. */
const WARMUP_S = 2;
/** How much longer the window waits for every connection's first reply (see `measure`). */
const FIRST_REPLY_WAIT_S_MAX = 5;

export interface Measurement {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Status code → replies; errors and timeouts under their names. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** CPU each process group spent in the measured window, with the replies it covers. */
  readonly cpu?: { readonly spent: CpuSpent; readonly replies: number };
}

/**
 * Steady state on established connections. When hundreds of connections open at once, the first
 * reply on each can take seconds: autocannon builds every connection's requests before any is
 * sent (and times them from then), the server meets all first requests at once, and a listen
 * backlog of 511 (the bare server's) drops some SYNs, retried a second later. At ~20k replies
 * those few hundred set the p99 alone, for the bare route as much as the gateway. So each row
 * makes a throwaway run, then a run whose measured window opens after WARMUP_S and once every
 * connection has had a reply (or FIRST_REPLY_WAIT_S_MAX later, counting the laggards), and lasts
 * `measureS`. The opening storm itself is what `npm run burst` measures.
 */
export async function measure(
  url: string,
  requests: autocannon.Request[],
  connections: number,
  processes: readonly ProcessGroup[],
  measureS = MEASURE_S,
): Promise<Measurement> {
  await new Promise((resolve, reject) =>
    autocannon({ url, connections, duration: CONNECT_WARMUP_S, requests }, (error, done) =>
      error ? reject(error) : resolve(done),
    ),
  );
  const latenciesMs: number[] = [];
  const outcomes: Record<string, number> = {};
  const answered = new Set<unknown>();
  let windowStart: number | null = null;
  let windowEnd = Number.POSITIVE_INFINITY;
  let lastCounted = 0;
  let cpuAtStart: CpuReading | null = null;
  let cpuAtEnd: CpuReading | null = null;
  let cpuAtEndTimer: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: WARMUP_S + FIRST_REPLY_WAIT_S_MAX + measureS + 1,
        requests,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    // autocannon() returns once its connections are set up, when its clock starts.
    const warmEnd = performance.now() + WARMUP_S * 1000;
    const giveUpWaiting = warmEnd + FIRST_REPLY_WAIT_S_MAX * 1000;
    // Every reply's latency, in fractional ms and whatever its status (autocannon's own histogram
    // keeps whole ms of 2xx replies only, and the sold-out row is all 409s). The listener really
    // gets the client first, which @types/autocannon leaves out, hence the plain EventEmitter.
    (instance as NodeJS.EventEmitter).on(
      'response',
      (client: unknown, status: number, _bytes: number, responseTimeMs: number) => {
        const now = performance.now();
        if (windowStart === null) {
          answered.add(client);
          if (now < warmEnd || (answered.size < connections && now < giveUpWaiting)) return;
          windowStart = now;
          windowEnd = now + measureS * 1000;
          cpuAtStart = readCpu(processes);
          // On a timer rather than at the first reply after the window: there may be none.
          cpuAtEndTimer = setTimeout(() => {
            cpuAtEnd = readCpu(processes);
          }, measureS * 1000);
          if (answered.size < connections)
            outcomes['connections unanswered in warm-up'] = connections - answered.size;
        }
        if (now >= windowEnd) {
          instance.stop();
          return;
        }
        lastCounted = now;
        latenciesMs.push(responseTimeMs);
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      },
    );
  });
  if (result.errors > 0) outcomes['errors (whole run)'] = result.errors;
  if (result.timeouts > 0) outcomes['timeouts (whole run)'] = result.timeouts;
  const latency = summarizeLatencies(latenciesMs);
  // The window is measureS unless the run's time cap ended it first.
  const measuredMs =
    windowStart === null
      ? 0
      : Math.min(windowEnd, Math.max(lastCounted, windowStart)) - windowStart;
  // The run's time cap may have ended it before the window did.
  clearTimeout(cpuAtEndTimer);
  cpuAtEnd ??= readCpu(processes);
  return {
    perSecond: measuredMs > 0 ? latenciesMs.length / (measuredMs / 1000) : 0,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    outcomes,
    ...(cpuAtStart === null
      ? {}
      : { cpu: { spent: cpuBetween(cpuAtStart, cpuAtEnd), replies: latenciesMs.length } }),
  };
}
