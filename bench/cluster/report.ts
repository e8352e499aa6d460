import { formatTable } from '../../scripts/cli/text-table.js';
import { errorCodeOf } from '../../scripts/client/http-json.js';
import { summarizeLatencies } from '../../scripts/client/latency-stats.js';
import { ALL_ROUNDS } from './all-rounds.js';
import type { StackRun } from './stack-run.js';

// What bench:cluster prints: one table (each stack's durable accepts a second, the rehearsal's
// as a multiple of npm start's in the same round, p50/p99, the CPU of every process of the stack
// per durable order, and how long a new sale took to take its first order), then where each
// stack's CPU went by role, and the goals, met or missed.

/** Issue 18: the rehearsal's durable orders/s at least half the single-machine stack's. */
export const RATE_RATIO_GOAL = 0.5;
/** DESIGN.md: a sale takes orders within 1 s of its 201. */
export const FIRST_ORDER_MS_GOAL = 1_000;

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (n >= 100 ? count(n) : n.toFixed(1));

export const durableOf = (row: StackRun): number => row.run.outcomes['201'] ?? 0;
export const ratePerS = (row: StackRun): number =>
  row.run.windowMs > 0 ? durableOf(row) / (row.run.windowMs / 1000) : 0;

/** Server CPU per durable order, µs: every process of the stack over the measured window. */
export function cpuPerOrderUs(row: StackRun, group?: string): number {
  const durable = durableOf(row);
  const spentMs =
    group === undefined ? row.run.cpu.serverMs : (row.run.cpu.byGroup.get(group) ?? 0);
  return durable === 0 ? 0 : (spentMs * 1000) / durable;
}

/** The npm start row of the same round. */
export function baselineOf(rows: readonly StackRun[], row: StackRun): StackRun | undefined {
  return rows.find((other) => other.round === row.round && other.stack === 'npm start');
}

export function ratioOf(rows: readonly StackRun[], row: StackRun): number | undefined {
  const baseline = baselineOf(rows, row);
  if (baseline === undefined) return undefined;
  const base = ratePerS(baseline);
  return base > 0 ? ratePerS(row) / base : 0;
}

function firstOrderCell(row: StackRun): string {
  const timed = row.firstOrders.flatMap((sale) => (sale.ms === null ? [] : [sale.ms]));
  const never = row.firstOrders.length - timed.length;
  const { p50Ms, maxMs } = summarizeLatencies(timed);
  const text = timed.length === 0 ? 'none' : `${ms(p50Ms)} / ${ms(maxMs)}`;
  return never > 0 ? `${text}, ${never} never` : text;
}

/** The error codes of the refusals kept (a sample), e.g. `OVERLOADED 300, ENGINE_UNAVAILABLE 54`. */
function refusalCodes(row: StackRun): string {
  const codes = new Map<string, number>();
  for (const reply of row.run.kept) {
    const code = errorCodeOf(parsed(reply.body)) ?? String(reply.status);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  return [...codes].map(([code, n]) => `${code} ${n}`).join(', ');
}

function parsed(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString());
  } catch {
    return null;
  }
}

function noteOf(row: StackRun): string {
  const others = Object.entries(row.run.outcomes)
    .filter(([outcome]) => outcome !== '201')
    .map(([outcome, n]) => `${outcome}: ${count(n)}`);
  if (row.run.kept.length > 0) others.push(`codes (whole row): ${refusalCodes(row)}`);
  const parts = [`${count(durableOf(row))} accepted`, ...others];
  if (row.run.repeated > 0) parts.push(`${count(row.run.repeated)} repeated a token`);
  return parts.join(', ');
}

export function printTable(rows: readonly StackRun[], connections: number): void {
  const newSales = rows[0]?.firstOrders.length ?? 0;
  const header = [
    'stack',
    'round',
    'durable orders/s',
    'ratio to npm start',
    'p50 ms',
    'p99 ms',
    'server CPU µs/order (all processes)',
    `new sale → first order ms (p50 / max of ${newSales})`,
    'answers in the window',
  ];
  const lines = rows.map((row) => {
    const ratio = ratioOf(rows, row);
    return [
      row.stack,
      row.round === ALL_ROUNDS ? 'all' : String(row.round),
      count(ratePerS(row)),
      ratio === undefined ? '' : `${ratio.toFixed(2)}x`,
      row.run.latency.p50Ms.toFixed(1),
      row.run.latency.p99Ms.toFixed(1),
      count(cpuPerOrderUs(row)),
      firstOrderCell(row),
      noteOf(row),
    ];
  });
  console.log(
    `\n### bench:cluster — durable accepts, ${connections} connections over both gateways of each stack\n`,
  );
  const right = ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] as const;
  console.log(formatTable(header, lines, [...right, 'left']));
}
