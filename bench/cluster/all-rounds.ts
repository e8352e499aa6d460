import { summarizeLatencies } from '../../scripts/client/latency-stats.js';
import type { MeasuredRun } from '../load/closed-loop.js';
import type { StackRun } from './stack-run.js';

// Each stack's rounds taken together (round 0, printed "all"): every measured window's answers
// over their summed length, its CPU over all its durable orders, p50/p99 over every latency. On a
// machine others are using at the same time one round may catch a quiet minute and the next a busy
// one; the figure over all rounds, each stack measured as often and alternately, is the one to quote.

export const ALL_ROUNDS = 0;

export const roundLabel = (row: StackRun): string =>
  row.round === ALL_ROUNDS ? 'all rounds' : `round ${row.round}`;

function sumInto(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

function combinedRun(runs: readonly MeasuredRun[]): MeasuredRun {
  const outcomes: Record<string, number> = {};
  const allOutcomes: Record<string, number> = {};
  const byGroup = new Map<string, number>();
  for (const run of runs) {
    sumInto(outcomes, run.outcomes);
    sumInto(allOutcomes, run.allOutcomes);
    for (const [group, ms] of run.cpu.byGroup) byGroup.set(group, (byGroup.get(group) ?? 0) + ms);
  }
  const latenciesMs = Float64Array.from(runs.flatMap((run) => [...run.latenciesMs]));
  const windowMs = runs.reduce((sum, run) => sum + run.windowMs, 0);
  const sum = (read: (run: MeasuredRun) => number): number =>
    runs.reduce((total, run) => total + read(run), 0);
  return {
    sent: sum((run) => run.sent),
    answered: sum((run) => run.answered),
    failed: sum((run) => run.failed),
    repeated: sum((run) => run.repeated),
    outcomes,
    allOutcomes,
    latenciesMs,
    latency: summarizeLatencies(latenciesMs),
    kept: runs.flatMap((run) => run.kept),
    failures: runs.flatMap((run) => run.failures),
    windowMs,
    perSecond: windowMs > 0 ? latenciesMs.length / (windowMs / 1000) : 0,
    cpu: {
      byGroup,
      serverMs: sum((run) => run.cpu.serverMs),
      machineBusyShare: sum((run) => run.cpu.machineBusyShare * run.windowMs) / windowMs,
    },
  };
}

/** One row per stack for all its rounds; none when there was a single round. */
export function allRoundsRows(rows: readonly StackRun[]): StackRun[] {
  const stacks = [...new Set(rows.map((row) => row.stack))];
  if (rows.length <= stacks.length) return [];
  return stacks.map((stack) => {
    const own = rows.filter((row) => row.stack === stack);
    return {
      stack,
      round: ALL_ROUNDS,
      firstOrders: own.flatMap((row) => row.firstOrders),
      run: combinedRun(own.map((row) => row.run)),
      roles: new Map(own.flatMap((row) => [...row.roles])),
      ordersPerCommit: null,
      idleCores: null,
      appendsPerOrder: [],
      cluster: null,
    };
  });
}
