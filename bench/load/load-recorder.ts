import { type LatencySummary, summarizeLatencies } from '../../scripts/client/latency-stats.js';
import type { Outcome } from './load-connection.js';

// What a load run keeps of its requests, the same for the closed and the open loop: every request
// counted once (answered or failed, so the counts add up), the measured ones' latency and outcome
// by status, and the bodies a caller asked for (an audit's sample), copied off the socket's chunk.

/** Latencies are kept in a growing Float64Array: no boxed number per reply. */
const LATENCIES_INITIAL = 64 * 1024;

export interface KeptReply {
  /** The request's index in the run (request `index % pool size` of its pool). */
  readonly index: number;
  readonly status: number;
  readonly body: Buffer;
  readonly measured: boolean;
}

/** Which replies' bodies to keep: an audit's sample, the refusals to sort by their code. */
export type KeepReply = (index: number, status: number) => boolean;

export interface LoadCounts {
  /** Requests sent; each is either answered (any status) or failed (no reply). */
  readonly sent: number;
  readonly answered: number;
  readonly failed: number;
  /** Requests past the pool's size: each repeats a customer and token sent earlier in the run. */
  readonly repeated: number;
}

export interface LoadRun extends LoadCounts {
  /** Measured requests by outcome: their status ("201"), or "failed: <reason>". */
  readonly outcomes: Readonly<Record<string, number>>;
  /** The same for every request of the run, warm-up and stragglers included. */
  readonly allOutcomes: Readonly<Record<string, number>>;
  /** Each measured reply's latency, ms (failed requests have none). */
  readonly latenciesMs: Float64Array;
  readonly latency: LatencySummary;
  readonly kept: readonly KeptReply[];
  /** The requests that got no reply, measured or not, by index: an audit's unknowns. */
  readonly failures: readonly { readonly index: number; readonly error: string }[];
}

export class LoadRecorder {
  private sent = 0;
  private answered = 0;
  private failed = 0;
  private readonly outcomes: Record<string, number> = {};
  private readonly allOutcomes: Record<string, number> = {};
  private latencies = new Float64Array(LATENCIES_INITIAL);
  private measuredCount = 0;
  private readonly kept: KeptReply[] = [];
  private readonly failures: { index: number; error: string }[] = [];

  constructor(
    private readonly poolSize: number,
    private readonly keep: KeepReply = () => false,
  ) {}

  countSent(): void {
    this.sent += 1;
  }

  record(index: number, outcome: Outcome, latencyMs: number, measured: boolean): void {
    const answered = 'body' in outcome;
    if (answered) this.answered += 1;
    else {
      this.failed += 1;
      this.failures.push({ index, error: outcome.error });
    }
    if (answered && this.keep(index, outcome.status))
      this.kept.push({ index, status: outcome.status, body: Buffer.from(outcome.body), measured });
    const key = answered ? String(outcome.status) : `failed: ${outcome.error}`;
    this.allOutcomes[key] = (this.allOutcomes[key] ?? 0) + 1;
    if (!measured) return;
    this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
    if (!answered) return;
    if (this.measuredCount === this.latencies.length) {
      const larger = new Float64Array(this.latencies.length * 2);
      larger.set(this.latencies);
      this.latencies = larger;
    }
    this.latencies[this.measuredCount] = latencyMs;
    this.measuredCount += 1;
  }

  /** Requests sent and not yet answered or failed. */
  get inFlight(): number {
    return this.sent - this.answered - this.failed;
  }

  result(): LoadRun {
    const latenciesMs = this.latencies.slice(0, this.measuredCount);
    return {
      sent: this.sent,
      answered: this.answered,
      failed: this.failed,
      repeated: Math.max(0, this.sent - this.poolSize),
      outcomes: { ...this.outcomes },
      allOutcomes: { ...this.allOutcomes },
      latenciesMs,
      latency: summarizeLatencies(latenciesMs),
      kept: [...this.kept],
      failures: [...this.failures],
    };
  }
}
