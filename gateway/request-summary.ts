import type { Logger } from 'pino';

// What the gateway logs about requests at `info`: not a line per request (in a burst that was two
// lines per request, and writing them cost more than answering), but one summary line per
// interval — how many, how fast, which statuses, p50/p99/max latency — plus a warning for each
// request slower than a threshold (app.ts). Per-request lines are still there at `debug`.

/**
 * Latencies are counted in buckets a quarter of a power of two wide from 10 µs up: a quantile is
 * read as its bucket's upper edge, so it is at most ~19% high, and recording costs a log2.
 */
const BUCKET_FIRST_MS = 0.01;
const BUCKETS_PER_DOUBLING = 4;
/** 10 µs × 2^(80/4) ≈ 10,500 s: every latency a request can have lands below the last bucket. */
const BUCKETS = 80;
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function bucketOf(ms: number): number {
  if (ms <= BUCKET_FIRST_MS) return 0;
  const index = Math.ceil(Math.log2(ms / BUCKET_FIRST_MS) * BUCKETS_PER_DOUBLING);
  return Math.min(index, BUCKETS - 1);
}

function upperEdgeMs(bucket: number): number {
  return BUCKET_FIRST_MS * 2 ** (bucket / BUCKETS_PER_DOUBLING);
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

export class RequestSummary {
  private readonly buckets = new Uint32Array(BUCKETS);
  private readonly statuses = new Uint32Array(STATUS_CLASSES.length);
  private count = 0;
  private maxMs = 0;
  private since: number;
  private readonly timer: NodeJS.Timeout | null;

  /** `intervalMs` 0: nothing is logged on a schedule (`flush()` still logs). */
  constructor(
    private readonly logger: Logger,
    intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
    this.timer = intervalMs > 0 ? setInterval(() => this.flush(), intervalMs) : null;
    this.timer?.unref();
  }

  record(status: number, ms: number): void {
    this.count += 1;
    this.buckets[bucketOf(ms)]! += 1;
    const statusClass = Math.floor(status / 100) - 1;
    if (statusClass >= 0 && statusClass < STATUS_CLASSES.length) this.statuses[statusClass]! += 1;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Logs the interval's line (nothing when no request came) and starts a new interval. */
  flush(): void {
    const now = this.now();
    const windowS = Math.max(now - this.since, 1) / 1000;
    if (this.count > 0)
      this.logger.info(
        {
          requests: this.count,
          perSecond: Math.round(this.count / windowS),
          statuses: this.statusCounts(),
          p50Ms: round(this.quantileMs(0.5)),
          p99Ms: round(this.quantileMs(0.99)),
          maxMs: round(this.maxMs),
          windowS: Math.round(windowS),
        },
        'requests summary',
      );
    this.buckets.fill(0);
    this.statuses.fill(0);
    this.count = 0;
    this.maxMs = 0;
    this.since = now;
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.flush();
  }

  private statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    STATUS_CLASSES.forEach((name, i) => {
      if (this.statuses[i]! > 0) counts[name] = this.statuses[i]!;
    });
    return counts;
  }

  /** The upper edge of the bucket holding the q-quantile, never above the largest seen. */
  private quantileMs(q: number): number {
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
      seen += this.buckets[bucket]!;
      // The last bucket is open-ended: its only known edge is the largest latency seen.
      if (seen >= rank && bucket < BUCKETS - 1) return Math.min(upperEdgeMs(bucket), this.maxMs);
      if (seen >= rank) break;
    }
    return this.maxMs;
  }
}
