import {
  ADMISSION_BURST_MS,
  ADMISSION_WINDOW_MS,
  QUEUE_RATE_WINDOW_MS,
  RECENT_ADVANCES_MAX,
} from './limits.js';
import type { QueueState } from './queue-types.js';

// How many the queue may admit now. Two rules, both needed:
// - credit: admitPerSecond thousandths of an admission accrue per ms, capped at ADMISSION_BURST_MS
//   worth (at least one admission), so the rate resumes after a pause without catching up;
// - window: never more than admitPerSecond admitted within any ADMISSION_WINDOW_MS (I9).
// Integers throughout (thousandths), so a replay computes exactly what the live engine did.

const MILLI = 1_000;

export function creditCap(admitPerSecond: number): number {
  return Math.max(MILLI, admitPerSecond * ADMISSION_BURST_MS);
}

/** The credit at `at`, in thousandths of an admission. */
export function creditAt(queue: QueueState, admitPerSecond: number, at: number): number {
  const accrued = admitPerSecond * Math.max(0, at - queue.creditAt);
  return Math.min(creditCap(admitPerSecond), queue.credit + accrued);
}

/** Admitted within the window that ends at `at` (both ends included). */
export function admittedWithin(queue: QueueState, at: number, windowMs: number): number {
  let count = 0;
  for (let i = queue.recent.length - 1; i >= 0; i -= 1) {
    const advance = queue.recent[i];
    if (advance === undefined || advance.at < at - windowMs) break;
    count += advance.admitted;
  }
  return count;
}

/** How many more may be admitted at `at` (before counting who is waiting). */
export function admissionBudget(queue: QueueState, admitPerSecond: number, at: number): number {
  const byCredit = Math.floor(creditAt(queue, admitPerSecond, at) / MILLI);
  const byWindow = admitPerSecond - admittedWithin(queue, at, ADMISSION_WINDOW_MS);
  return Math.max(0, Math.min(byCredit, byWindow));
}

/** Applies `admitted` admissions at `at` to the credit and the recent record (evolve's half). */
export function spendCredit(
  queue: QueueState,
  admitPerSecond: number,
  at: number,
  admitted: number,
): void {
  queue.credit = Math.max(0, creditAt(queue, admitPerSecond, at) - admitted * MILLI);
  queue.creditAt = Math.max(queue.creditAt, at);
  queue.recent.push({ at, admitted });
  const oldest = at - QUEUE_RATE_WINDOW_MS;
  let drop = 0;
  while (drop < queue.recent.length && (queue.recent[drop]?.at ?? at) < oldest) drop += 1;
  drop = Math.max(drop, queue.recent.length - RECENT_ADVANCES_MAX);
  if (drop > 0) queue.recent.splice(0, drop);
}

/**
 * Admissions per second as measured over the recent window (what the ETA divides by); the
 * setting until there is a measurement.
 */
export function measuredRate(queue: QueueState, admitPerSecond: number, now: number): number {
  const first = queue.recent[0];
  if (first === undefined) return admitPerSecond;
  const admitted = admittedWithin(queue, now, QUEUE_RATE_WINDOW_MS);
  const spanMs = Math.max(
    ADMISSION_WINDOW_MS,
    now - Math.max(first.at, now - QUEUE_RATE_WINDOW_MS),
  );
  return admitted === 0 ? admitPerSecond : (admitted * 1_000) / spanMs;
}
