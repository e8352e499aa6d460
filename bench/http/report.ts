import type { MeasuredRun } from '../load/closed-loop.js';
import { type BenchRow, printTable } from '../table.js';

// What bench:http prints: one table (rate or p99, ratio to the bare route measured beside it, and
// the server's CPU per reply), where each row's CPU went, and the goals, met or missed.

export interface Row {
  readonly name: string;
  readonly run: MeasuredRun;
  /** A rate (replies per second) or a latency (p99 of an open loop). */
  readonly unit: 'req/s' | 'orders/s' | 'replies/s' | 'ms p99';
  /** The bare-route row this one is compared with, measured in the same run. */
  readonly baseline?: Row;
  readonly note?: string;
}

export interface Goal {
  readonly met: boolean;
  readonly line: string;
}

const isLatency = (row: Row): boolean => row.unit === 'ms p99';
const count = (n: number): string => n.toLocaleString('en-US');

/** The row's rate (or, for an open loop, its p99) as a multiple of its bare route's. */
export function ratioOf(row: Row): number | undefined {
  if (row.baseline === undefined || isLatency(row)) return undefined;
  return row.baseline.run.perSecond > 0 ? row.run.perSecond / row.baseline.run.perSecond : 0;
}

/** Server CPU per measured reply, µs; none when nothing was answered. */
export function serverCpuUs(run: MeasuredRun): number | undefined {
  const replies = run.latenciesMs.length;
  return replies === 0 ? undefined : (run.cpu.serverMs * 1000) / replies;
}

function noteOf(row: Row): string {
  const { run } = row;
  const outcomes = Object.entries(run.outcomes)
    .map(([outcome, n]) => `${outcome}: ${count(n)}`)
    .join(', ');
  const parts = [
    `p50 ${run.latency.p50Ms.toFixed(2)} ms, p99 ${run.latency.p99Ms.toFixed(2)} ms`,
    outcomes,
  ];
  if (run.repeated > 0) parts.push(`${count(run.repeated)} requests repeated a customer's token`);
  if (row.note !== undefined) parts.push(row.note);
  return parts.join('; ');
}

function benchRow(row: Row): BenchRow {
  const ratio = ratioOf(row);
  const cpu = serverCpuUs(row.run);
  return {
    name: row.name,
    value: isLatency(row) ? row.run.latency.p99Ms : row.run.perSecond,
    unit: row.unit,
    ...(ratio === undefined ? {} : { ratio, baseline: 'bare route' }),
    ...(cpu === undefined ? {} : { serverCpuUs: cpu }),
    note: noteOf(row),
  };
}

/** Where a row's CPU went: µs per reply for each process group, and how busy the cores were. */
function cpuLine(row: Row): string {
  const { cpu, latenciesMs } = row.run;
  const replies = latenciesMs.length;
  if (replies === 0) return `  ${row.name}: no reply measured`;
  const us = (ms: number): string => `${Math.round((ms * 1000) / replies)} µs`;
  const parts = [...cpu.byGroup].map(([group, ms]) => `${group} ${us(ms)}`);
  const busy = Math.round(cpu.machineBusyShare * 100);
  return `  ${row.name}: server ${us(cpu.serverMs)} (${parts.join(', ')}); all cores ${busy}% busy`;
}

export function printReport(title: string, rows: readonly Row[], goals: readonly Goal[]): void {
  printTable(title, rows.map(benchRow));
  console.log('\nCPU per reply in each measured window (user + system, from /proc):');
  for (const row of rows) console.log(cpuLine(row));
  console.log('\ngoals from the issue:');
  for (const goal of goals) console.log(`  ${goal.met ? 'met   ' : 'MISSED'} ${goal.line}`);
}

export function ratioGoal(row: Row, goal: number): Goal {
  const ratio = ratioOf(row) ?? 0;
  return {
    met: ratio >= goal,
    line: `${row.name}: ${ratio.toFixed(2)}x the bare route, goal ≥ ${goal}x`,
  };
}

/** Met when the p99 is under the goal and no measured request went unanswered. */
export function p99Goal(row: Row, goalMs: number): Goal {
  const p99 = row.run.latency.p99Ms;
  const unanswered = Object.entries(row.run.outcomes)
    .filter(([outcome]) => outcome.startsWith('failed'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    met: p99 < goalMs && unanswered === 0,
    line:
      `${row.name}: p99 ${p99.toFixed(1)} ms, goal < ${goalMs} ms` +
      (unanswered > 0 ? ` (and ${count(unanswered)} requests unanswered)` : ''),
  };
}
