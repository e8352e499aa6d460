import { auditProblemLines } from '../../scripts/audit/audit-report.js';
import { formatCount, formatTable } from '../../scripts/cli/text-table.js';
import type { RunResult } from './scenarios.js';

// What bench:compare prints: the side-by-side table (one row per figure, ours and the
// conventional design's from the same run, and their ratio ours/conventional — above 1 is more
// of it: good for orders/s, bad for latency), the CPU each spent, the audits and the goals.

/** Goal from the issue: our accepted orders/s in the steady run, as a multiple of theirs. */
const STEADY_RATIO_GOAL = 10;
/** Breaches listed per run; past this they are only counted. */
const PROBLEMS_LISTED_MAX = 10;

interface Pair {
  readonly ours: RunResult;
  readonly conventional: RunResult;
}

type Cell = number | string;

interface Row {
  readonly figure: string;
  readonly ours: Cell;
  readonly conventional: Cell;
  /** Whether a ratio means something for this row. */
  readonly ratio: boolean;
}

const formatCell = (cell: Cell): string => {
  if (typeof cell === 'string') return cell;
  if (Number.isInteger(cell) || Math.abs(cell) >= 100)
    return Math.round(cell).toLocaleString('en-US');
  return cell.toFixed(2);
};

function ratioOf(row: Row): string {
  if (!row.ratio || typeof row.ours !== 'number' || typeof row.conventional !== 'number') return '';
  if (row.conventional === 0) return row.ours === 0 ? '' : '∞';
  return `${(row.ours / row.conventional).toFixed(2)}x`;
}

function outcomeRows(scenario: string, ours: RunResult, conventional: RunResult): Row[] {
  const keys = [
    ...new Set([...ours.tally.byOutcome.keys(), ...conventional.tally.byOutcome.keys()]),
  ];
  keys.sort();
  return keys.map((key) => ({
    figure: `${scenario}: ${key}`,
    ours: ours.tally.byOutcome.get(key) ?? 0,
    conventional: conventional.tally.byOutcome.get(key) ?? 0,
    ratio: false,
  }));
}

const verdict = (result: RunResult): string => (result.audit.ok ? 'ok' : 'BROKEN');

/** Accepted orders in a steady window (or a burst's requests, all of them replies). */
const acceptedIn = (result: RunResult): number => result.acceptedPerSecond * (result.wallMs / 1000);

/** Server CPU (its own processes, not the generator) per reply of a burst, µs. */
const perReplyUs = (result: RunResult): number =>
  result.requests > 0 ? (result.cpu.serverMs * 1000) / result.requests : 0;

/** Server CPU per accepted order of a steady window, µs. */
const perOrderUs = (result: RunResult): number => {
  const accepted = acceptedIn(result);
  return accepted > 0 ? (result.cpu.serverMs * 1000) / accepted : 0;
};

export function comparisonRows(
  burst: Pair & { readonly stock: number; readonly cap: number },
  steady: Pair,
): Row[] {
  return [...burstRows(burst), ...steadyRows(steady)];
}

function burstRows(b: Pair & { readonly stock: number; readonly cap: number }): Row[] {
  return [
    {
      figure: 'burst: requests',
      ours: b.ours.requests,
      conventional: b.conventional.requests,
      ratio: false,
    },
    ...outcomeRows('burst', b.ours, b.conventional),
    {
      figure: `burst: units sold (stock ${b.stock})`,
      ours: b.ours.audit.sold,
      conventional: b.conventional.audit.sold,
      ratio: false,
    },
    {
      figure: `burst: most units of one customer (cap ${b.cap})`,
      ours: b.ours.audit.largestPerCustomer,
      conventional: b.conventional.audit.largestPerCustomer,
      ratio: false,
    },
    {
      figure: 'burst: p50 latency, ms',
      ours: b.ours.p50Ms,
      conventional: b.conventional.p50Ms,
      ratio: true,
    },
    {
      figure: 'burst: p99 latency, ms',
      ours: b.ours.p99Ms,
      conventional: b.conventional.p99Ms,
      ratio: true,
    },
    {
      figure: 'burst: wall time, ms',
      ours: b.ours.wallMs,
      conventional: b.conventional.wallMs,
      ratio: true,
    },
    {
      figure: 'burst: server CPU per reply, µs',
      ours: perReplyUs(b.ours),
      conventional: perReplyUs(b.conventional),
      ratio: true,
    },
    {
      figure: 'burst: invariants (audit)',
      ours: verdict(b.ours),
      conventional: verdict(b.conventional),
      ratio: false,
    },
  ];
}

function steadyRows(s: Pair): Row[] {
  return [
    {
      figure: 'steady: accepted orders/s',
      ours: s.ours.acceptedPerSecond,
      conventional: s.conventional.acceptedPerSecond,
      ratio: true,
    },
    {
      figure: 'steady: server CPU per accepted order, µs',
      ours: perOrderUs(s.ours),
      conventional: perOrderUs(s.conventional),
      ratio: true,
    },
    {
      figure: 'steady: p50 latency, ms',
      ours: s.ours.p50Ms,
      conventional: s.conventional.p50Ms,
      ratio: true,
    },
    {
      figure: 'steady: p99 latency, ms',
      ours: s.ours.p99Ms,
      conventional: s.conventional.p99Ms,
      ratio: true,
    },
    ...outcomeRows('steady', s.ours, s.conventional),
    ...repeatedRows(s),
    {
      figure: 'steady: invariants (audit)',
      ours: verdict(s.ours),
      conventional: verdict(s.conventional),
      ratio: false,
    },
  ];
}

/** Said only when it happened: the customer pool was smaller than the run. */
function repeatedRows(steady: Pair): Row[] {
  const ours = steady.ours.repeated ?? 0;
  const conventional = steady.conventional.repeated ?? 0;
  if (ours === 0 && conventional === 0) return [];
  return [{ figure: 'steady: requests repeating a customer', ours, conventional, ratio: false }];
}

export function printComparison(title: string, rows: readonly Row[]): void {
  const header = ['figure', 'ours', 'conventional', 'ours/conventional'];
  const lines = rows.map((row) => [
    row.figure,
    formatCell(row.ours),
    formatCell(row.conventional),
    ratioOf(row),
  ]);
  console.log(`\n### ${title}\n`);
  // Figures left-aligned, numbers right-aligned, as the separator row tells Markdown too.
  console.log(formatTable(header, lines, ['left', 'right', 'right', 'right']));
}

/** Where each system's CPU went in a load, per accepted order (or reply) and per core. */
export function printCpu(what: string, results: Pair, per: 'accepted order' | 'reply'): void {
  console.log(`\nCPU in the ${what} (user + system; per ${per}, and share of one core):`);
  for (const [name, result] of Object.entries(results)) {
    const { cpu } = result;
    const n = per === 'reply' ? result.requests : acceptedIn(result);
    const us = (ms: number): string => `${Math.round(n > 0 ? (ms * 1000) / n : 0)} µs`;
    const parts = [...cpu.byGroup].map(
      ([group, ms]) => `${group} ${us(ms)} (${Math.round((ms / result.wallMs) * 100)}%)`,
    );
    console.log(
      `  ${name}: server ${us(cpu.serverMs)}: ${parts.join(', ')}; ` +
        `all cores ${Math.round(cpu.machineBusyShare * 100)}% busy`,
    );
  }
}

/** A line per check of each run's audit, then what broke, in words. */
export function printAudits(runs: Readonly<Record<'burst' | 'steady', Pair>>): void {
  console.log("\nAudit (through each system's own HTTP API):");
  for (const [what, pair] of Object.entries(runs))
    for (const [name, result] of Object.entries(pair)) {
      for (const row of result.audit.rows) {
        const ok = row.breaches.length === 0 && row.unread.length === 0;
        console.log(
          `  ${ok ? 'ok    ' : 'BROKEN'} ${what}, ${name}: ${row.check}, ` +
            `${formatCount(row.checked)} checked`,
        );
      }
      for (const line of auditProblemLines(result.audit.rows, PROBLEMS_LISTED_MAX))
        console.log(`${line} (${what}, ${name})`);
    }
}

/** The goals, met or missed; a miss is reported, not an error. */
export function printGoals(burst: Pair, steady: Pair): void {
  const steadyRatio = steady.ours.acceptedPerSecond / steady.conventional.acceptedPerSecond;
  const p99Lower = burst.ours.p99Ms < burst.conventional.p99Ms;
  const verdict = (met: boolean): string => (met ? 'met   ' : 'MISSED');
  console.log('\nGoals:');
  console.log(
    `  ${verdict(steadyRatio >= STEADY_RATIO_GOAL)} steady accepted orders/s ≥ ` +
      `${STEADY_RATIO_GOAL}x the conventional design's: ${steadyRatio.toFixed(2)}x`,
  );
  console.log(
    `  ${verdict(p99Lower)} lower p99 in the burst: ${burst.ours.p99Ms.toFixed(1)} ms vs ` +
      `${burst.conventional.p99Ms.toFixed(1)} ms`,
  );
}
