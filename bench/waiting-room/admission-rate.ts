// The admission rate as measured from the admittedAt the customers read back (pure): the mean
// over the whole seconds from the first admission (the queue is non-empty until the last one, so
// every one of them counts), and the most admitted within any sliding second (both ends in, as
// the I9 audit counts it); and the ticks that admitted, whose spacing explains a shortfall.

const SECOND_MS = 1_000;

export interface AdmissionRate {
  readonly admitted: number;
  /** Whole seconds measured from the first admission. */
  readonly seconds: number;
  readonly meanPerS: number;
  readonly maxInAnySecond: number;
  /** Engine ticks that admitted (distinct admittedAt), and the mean gap between them, ms. */
  readonly ticks: number;
  readonly meanTickGapMs: number;
}

export function maxInAnySecond(sortedTimes: readonly number[]): number {
  let first = 0;
  let worst = 0;
  for (let last = 0; last < sortedTimes.length; last += 1) {
    while ((sortedTimes[first] as number) < (sortedTimes[last] as number) - SECOND_MS) first += 1;
    worst = Math.max(worst, last - first + 1);
  }
  return worst;
}

export function admissionRate(times: readonly number[]): AdmissionRate {
  const sorted = [...times].sort((a, b) => a - b);
  const first = sorted[0] ?? 0;
  const last = sorted.at(-1) ?? 0;
  // At least one second: a smoke run's few admissions may all fall within one.
  const seconds = Math.max(1, Math.floor((last - first) / SECOND_MS));
  const inWindow = sorted.filter((at) => at < first + seconds * SECOND_MS).length;
  const ticks = new Set(sorted).size;
  return {
    admitted: sorted.length,
    seconds,
    meanPerS: inWindow / seconds,
    maxInAnySecond: maxInAnySecond(sorted),
    // Why a rate falls short: each tick may admit at most a capped credit, so late ticks lose.
    ticks,
    meanTickGapMs: ticks > 1 ? (last - first) / (ticks - 1) : 0,
  };
}
