import { performance } from 'node:perf_hooks';
import {
  type CpuReading,
  type CpuSpent,
  cpuBetween,
  type ProcessGroup,
  readCpu,
} from '../compare/cpu-usage.js';
import { withConnections } from './connections.js';
import type { LoadConnection } from './load-connection.js';
import { type KeepReply, LoadRecorder, type LoadRun } from './load-recorder.js';
import type { RequestPool } from './request-pool.js';

// A closed loop: each connection sends its next request as soon as its previous one is answered,
// the next request of the pool each time (shared by all connections, so no customer repeats until
// the pool is used up). Two shapes:
//   - for a time: `warmUpMs` unmeasured, then a window of `measureMs`; a reply counts when it
//     arrives inside the window; sending stops when the window ends;
//   - a burst: exactly `requests` requests, all measured, from the first sent to the last answer.
// Either way the run waits for every request it sent, so sent = answered + failed.

/** After the last request, how long the replies still due may take before they count as failed. */
const STRAGGLERS_WAIT_MS_MAX = 30_000;

export type ClosedLoopShape =
  | { readonly warmUpMs: number; readonly measureMs: number }
  | { readonly requests: number };

export interface ClosedLoopOptions {
  readonly url: string;
  readonly connections: number;
  readonly pool: RequestPool;
  readonly shape: ClosedLoopShape;
  /** The processes whose CPU is read at the window's two ends. */
  readonly processes?: readonly ProcessGroup[];
  readonly keep?: KeepReply;
}

export interface MeasuredRun extends LoadRun {
  /** How long the measured window lasted. */
  readonly windowMs: number;
  /** Measured replies (any status, failures not included) per second of the window. */
  readonly perSecond: number;
  /** CPU of each process group over the window. */
  readonly cpu: CpuSpent;
}

export async function closedLoop(options: ClosedLoopOptions): Promise<MeasuredRun> {
  return withConnections(options.url, options.connections, (connections) =>
    closedLoopOn(options, connections),
  );
}

/** The loop on connections already open (to one server or several); `options.url` is unused. */
export function closedLoopOn(
  options: ClosedLoopOptions,
  connections: readonly LoadConnection[],
): Promise<MeasuredRun> {
  const { pool, shape } = options;
  const processes = options.processes ?? [];
  const recorder = new LoadRecorder(pool.size, options.keep);
  const timed = 'measureMs' in shape;
  const start = performance.now();
  const windowStart = timed ? start + shape.warmUpMs : start;
  const windowEnd = timed ? windowStart + shape.measureMs : Number.POSITIVE_INFINITY;
  const total = timed ? Number.POSITIVE_INFINITY : shape.requests;
  const cpu: { start: CpuReading | null; end: CpuReading | null } = {
    start: timed ? null : readCpu(processes),
    end: null,
  };
  let lastAnswer = start;
  let next = 0;
  let stragglers: NodeJS.Timeout | undefined;
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(stragglers);
      cpu.end ??= readCpu(processes);
      const windowMs = timed ? shape.measureMs : lastAnswer - windowStart;
      const result = recorder.result();
      resolve({
        ...result,
        windowMs,
        perSecond: windowMs > 0 ? result.latenciesMs.length / (windowMs / 1000) : 0,
        cpu: cpuBetween(cpu.start ?? cpu.end, cpu.end),
      });
    };
    const sendNext = (connection: LoadConnection): void => {
      if (next >= total || performance.now() >= windowEnd) {
        stragglers ??= setTimeout(() => giveUp(connections), STRAGGLERS_WAIT_MS_MAX);
        if (recorder.inFlight === 0) finish();
        return;
      }
      const index = next;
      next += 1;
      recorder.countSent();
      connection.send(pool.request(index), (outcome, latencyMs) => {
        const now = performance.now();
        const measured = now >= windowStart && now < windowEnd;
        if (measured) lastAnswer = now;
        recorder.record(index, outcome, latencyMs, measured);
        if (!timed && next >= total && recorder.inFlight === 0) cpu.end = readCpu(processes);
        sendNext(connection);
      });
    };
    if (timed) readCpuAtWindow(shape, processes, cpu);
    for (const connection of connections) sendNext(connection);
  });
}

/** On timers rather than at a reply: a stalled server may send none near either end. */
function readCpuAtWindow(
  shape: { readonly warmUpMs: number; readonly measureMs: number },
  processes: readonly ProcessGroup[],
  cpu: { start: CpuReading | null; end: CpuReading | null },
): void {
  setTimeout(() => {
    cpu.start = readCpu(processes);
  }, shape.warmUpMs).unref();
  setTimeout(() => {
    cpu.end = readCpu(processes);
  }, shape.warmUpMs + shape.measureMs).unref();
}

/** Fails the requests still waiting: each failure reaches the loop, which then finishes. */
function giveUp(connections: readonly LoadConnection[]): void {
  for (const connection of connections)
    if (connection.busy) connection.close(`no reply ${STRAGGLERS_WAIT_MS_MAX} ms after the run`);
}
