import { performance } from 'node:perf_hooks';
import { type CpuReading, cpuBetween, type ProcessGroup, readCpu } from '../compare/cpu-usage.js';
import type { MeasuredRun } from './closed-loop.js';
import { withConnections } from './connections.js';
import type { LoadConnection } from './load-connection.js';
import { type KeepReply, LoadRecorder } from './load-recorder.js';
import type { RequestPool } from './request-pool.js';

// An open loop: requests leave on a fixed schedule (`ratePerS`, evenly spaced) whatever the
// server's pace, each on a connection that is free at that moment (one request at a time per
// connection, as a browser sends); when none is free the request waits for the first that is.
// Latency runs from the request's *scheduled* time, so a server that falls behind is charged for
// the wait it causes (no coordinated omission). This is how the latency of a given load is
// measured; a closed loop measures capacity, and its latency at saturation is only
// connections ÷ throughput (Little's law). Requests scheduled in the window are the measured ones.

/** How often the scheduler wakes to send what is due (it sends every request due by then). */
const SCHEDULER_TICK_MS = 1;
/** Requests waiting for a free connection; past this the server is far beyond the offered load. */
const WAITING_REQUESTS_MAX = 1_000_000;
/** After the schedule, how long the replies still due may take before they count as failed. */
const STRAGGLERS_WAIT_MS_MAX = 30_000;

export interface OpenLoopOptions {
  readonly url: string;
  readonly connections: number;
  readonly pool: RequestPool;
  readonly ratePerS: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
  readonly processes?: readonly ProcessGroup[];
  readonly keep?: KeepReply;
}

export async function openLoop(options: OpenLoopOptions): Promise<MeasuredRun> {
  return withConnections(options.url, options.connections, (connections) =>
    run(options, connections),
  );
}

function run(
  options: OpenLoopOptions,
  connections: readonly LoadConnection[],
): Promise<MeasuredRun> {
  return new Promise((resolve) => new Schedule(options, connections, resolve).begin());
}

/** One open-loop run: the schedule, the connections free now, and the requests waiting. */
class Schedule {
  private readonly recorder: LoadRecorder;
  private readonly idle: LoadConnection[];
  private readonly waiting = new WaitingLine();
  private readonly processes: readonly ProcessGroup[];
  private readonly intervalMs: number;
  private readonly total: number;
  private readonly start = performance.now();
  private readonly windowStart: number;
  private readonly windowEnd: number;
  private readonly cpu: { start: CpuReading | null; end: CpuReading | null } = {
    start: null,
    end: null,
  };
  private next = 0;
  private tick: NodeJS.Timeout | undefined;
  private stragglers: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly options: OpenLoopOptions,
    private readonly connections: readonly LoadConnection[],
    private readonly resolve: (run: MeasuredRun) => void,
  ) {
    this.recorder = new LoadRecorder(options.pool.size, options.keep);
    this.idle = [...connections];
    this.processes = options.processes ?? [];
    this.intervalMs = 1000 / options.ratePerS;
    this.total = Math.round((options.ratePerS * (options.warmUpMs + options.measureMs)) / 1000);
    this.windowStart = this.start + options.warmUpMs;
    this.windowEnd = this.windowStart + options.measureMs;
  }

  begin(): void {
    this.tick = setInterval(() => this.sendDue(), SCHEDULER_TICK_MS);
  }

  private scheduledAt(index: number): number {
    return this.start + index * this.intervalMs;
  }

  private measured(index: number): boolean {
    const scheduled = this.scheduledAt(index);
    return scheduled >= this.windowStart && scheduled < this.windowEnd;
  }

  private sendDue(): void {
    const now = performance.now();
    if (this.cpu.start === null && now >= this.windowStart)
      this.cpu.start = readCpu(this.processes);
    if (this.cpu.end === null && now >= this.windowEnd) this.cpu.end = readCpu(this.processes);
    for (; this.next < this.total && this.scheduledAt(this.next) <= now; this.next += 1)
      this.dispatch(this.next);
    if (this.next < this.total) return;
    clearInterval(this.tick);
    this.stragglers = setTimeout(() => {
      for (const connection of this.connections)
        if (connection.busy)
          connection.close(`no reply ${STRAGGLERS_WAIT_MS_MAX} ms after the schedule`);
    }, STRAGGLERS_WAIT_MS_MAX);
    if (this.recorder.inFlight === 0) this.finish();
  }

  private dispatch(index: number): void {
    this.recorder.countSent();
    const connection = this.idle.pop();
    if (connection !== undefined) this.send(connection, index);
    else if (this.waiting.length < WAITING_REQUESTS_MAX) this.waiting.add(index);
    else
      this.recorder.record(
        index,
        { status: 0, error: 'no free connection' },
        0,
        this.measured(index),
      );
  }

  private send(connection: LoadConnection, index: number): void {
    connection.send(this.options.pool.request(index), (outcome) => {
      const latencyMs = performance.now() - this.scheduledAt(index);
      this.recorder.record(index, outcome, latencyMs, this.measured(index));
      const queued = this.waiting.take();
      if (queued === undefined) this.idle.push(connection);
      else this.send(connection, queued);
      if (this.next >= this.total && this.recorder.inFlight === 0) this.finish();
    });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stragglers);
    this.cpu.end ??= readCpu(this.processes);
    const result = this.recorder.result();
    const measureS = this.options.measureMs / 1000;
    this.resolve({
      ...result,
      windowMs: this.options.measureMs,
      perSecond: result.latenciesMs.length / measureS,
      cpu: cpuBetween(this.cpu.start ?? this.cpu.end, this.cpu.end),
    });
  }
}

/** Request indexes waiting for a free connection, first come first served. */
class WaitingLine {
  private items: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  add(index: number): void {
    this.items.push(index);
  }

  take(): number | undefined {
    if (this.head === this.items.length) return undefined;
    const index = this.items[this.head]!;
    this.head += 1;
    // Drops what was taken now and then, so the line never holds more than it must.
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return index;
  }
}
