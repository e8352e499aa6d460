import type { RunResult } from './scenarios.js';

// What bench:compare prints: the side-by-side table (one row per figure, ours and the
// conventional design's from the same run, and their ratio ours/conventional — above 1 is more
// of it: good for orders/s, bad for latency), the CPU each spent, the audits and the goals.

/** Goal from the issue: our accepted orders/s in the steady run, as a multiple of theirs. */
const STEADY_RATIO_GOAL = 10;

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

export function comparisonRows(
  burst: Pair & { readonly stock: number; readonly cap: number },
  steady: Pair,
): Row[] {
  const b = burst;
  const s = steady;
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
      figure: 'burst: invariants (audit)',
      ours: verdict(b.ours),
      conventional: verdict(b.conventional),
      ratio: false,
    },
    {
      figure: 'steady: accepted orders/s',
      ours: s.ours.acceptedPerSecond,
      conventional: s.conventional.acceptedPerSecond,
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
    {
      figure: 'steady: invariants (audit)',
      ours: verdict(s.ours),
      conventional: verdict(s.conventional),
      ratio: false,
    },
  ];
}

export function printComparison(title: string, rows: readonly Row[]): void {
  const header = ['figure', 'ours', 'conventional', 'ours/conventional'];
  const lines = rows.map((row) => [
    row.figure,
    formatCell(row.ours),
    formatCell(row.conventional),
    ratioOf(row),
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...lines.map((l) => l[i]!.length)));
  // Figures left-aligned, numbers right-aligned, as the separator row tells Markdown too.
  const align = (cell: string, i: number): string =>
    i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!);
  const render = (cells: readonly string[]): string => `| ${cells.map(align).join(' | ')} |`;
  console.log(`\n### ${title}\n`);
  console.log(render(header));
  console.log(
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
  );
  for (const line of lines) console.log(render(line));
}

/** Where each system's CPU went in the steady window, per accepted order and per core. */
export function printCpu(results: Pair): void {
  console.log(
    '\nCPU in the steady window (user + system; per accepted order, and share of one core):',
  );
  for (const [name, result] of Object.entries(results)) {
    const { cpu } = result;
    if (cpu === undefined) continue;
    const accepted = result.acceptedPerSecond * (result.wallMs / 1000);
    const parts = [...cpu.byGroup].map(([group, ms]) => {
      const perOrderUs = accepted > 0 ? (ms * 1000) / accepted : 0;
      return `${group} ${Math.round(perOrderUs)} µs (${Math.round((ms / result.wallMs) * 100)}%)`;
    });
    console.log(
      `  ${name}: ${parts.join(', ')}; all cores ${Math.round(cpu.machineBusyShare * 100)}% busy`,
    );
  }
}

export function printAudits(runs: Readonly<Record<'burst' | 'steady', Pair>>): void {
  console.log("\nAudit (through each system's own HTTP API):");
  for (const [what, pair] of Object.entries(runs))
    for (const [name, result] of Object.entries(pair))
      for (const line of result.audit.lines)
        console.log(`  ${result.audit.ok ? 'ok    ' : 'BROKEN'} ${what}, ${name}: ${line}`);
}

/** The issue's goals, met or missed; a miss is reported, not an error. */
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
