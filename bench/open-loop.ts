import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'undici';

// An open-loop load: requests leave on a fixed schedule (`ratePerS`, evenly spaced), whatever the
// server's pace, over `connections` keep-alive connections opened beforehand, request i on
// connection i mod N. Latency runs from the request's *scheduled* time, so a server that falls
// behind is charged for the wait it causes (no coordinated omission). This is how the latency of
// a given load is measured; a closed loop (autocannon) measures capacity, and its latency at
// saturation is only connections ÷ throughput (Little's law).

/** How often the scheduler wakes to send what is due (it catches up on every request due). */
const SCHEDULER_TICK_MS = 1;

export interface OpenLoopRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface OpenLoopOptions {
  readonly url: string;
  readonly connections: number;
  readonly ratePerS: number;
  readonly warmupS: number;
  readonly measureS: number;
  /** Cycled through in order. */
  readonly requests: readonly OpenLoopRequest[];
}

export interface OpenLoopResult {
  /** Every measured request's latency from its scheduled time, in ms. */
  readonly latenciesMs: readonly number[];
  /** Status code → replies in the measured window; `error` for failed requests. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Measured requests answered per second. */
  readonly perSecond: number;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { connections, ratePerS, requests } = options;
  const clients = Array.from(
    { length: connections },
    () => new Client(options.url, { pipelining: 1, keepAliveTimeout: 60_000 }),
  );
  try {
    // Every connection opened (and its first request answered) before the clock starts.
    await Promise.all(clients.map((client) => send(client, requests[0]!)));
    const latenciesMs: number[] = [];
    const outcomes: Record<string, number> = {};
    const pending: Promise<void>[] = [];
    const start = performance.now();
    const measureFrom = start + options.warmupS * 1000;
    const total = Math.round(ratePerS * (options.warmupS + options.measureS));
    const intervalMs = 1000 / ratePerS;
    let next = 0;
    while (next < total) {
      const now = performance.now();
      for (; next < total && start + next * intervalMs <= now; next += 1) {
        const scheduled = start + next * intervalMs;
        const measured = scheduled >= measureFrom;
        const request = requests[next % requests.length]!;
        pending.push(
          send(clients[next % connections]!, request).then(
            (status) => {
              if (!measured) return;
              latenciesMs.push(performance.now() - scheduled);
              outcomes[status] = (outcomes[status] ?? 0) + 1;
            },
            () => {
              if (measured) outcomes.error = (outcomes.error ?? 0) + 1;
            },
          ),
        );
      }
      await delay(SCHEDULER_TICK_MS);
    }
    await Promise.all(pending);
    return {
      latenciesMs,
      outcomes,
      perSecond: latenciesMs.length / options.measureS,
    };
  } finally {
    await Promise.all(clients.map((client) => client.destroy()));
  }
}

async function send(client: Client, request: OpenLoopRequest): Promise<number> {
  const response = await client.request({
    method: 'POST',
    path: request.path,
    headers: request.headers,
    body: request.body,
  });
  await response.body.dump();
  return response.statusCode;
}
