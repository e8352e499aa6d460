import { auditProblemLines, formatAuditTable } from '../audit/audit-report.js';
import type { AuditRow } from '../audit/audit-rows.js';
import { formatCount, formatTable } from '../cli/text-table.js';
import { quantile } from '../client/latency-stats.js';
import type { MachineRoundSummary } from './machine-round.js';

// The machine-loss run's report as text: a line per round as it ends, then a table of every round,
// the failover's distribution (kill → first order served by a request sent after it), the audit
// table with every breach in words, and the verdict.

/** Issue 18's goal: the first order served within 10 s of the kill, at the 99th percentile. */
export const FAILOVER_P99_MS_GOAL = 10_000;

export interface MachineLossReport {
  readonly seed: number;
  readonly rounds: readonly MachineRoundSummary[];
  readonly audit: readonly AuditRow[];
  /** Per round: [acknowledged, refused, gave up, retried]. */
  readonly answers: readonly (readonly [number, number, number, number])[];
  readonly breaches: readonly string[];
}

const seconds = (ms: number | null): string => (ms === null ? '–' : (ms / 1_000).toFixed(2));

/** Kill → first order served (201/200, or a refusal once sold out), in ms; null if never. */
export function failoverMsOf(summary: MachineRoundSummary): number | null {
  return summary.probe.kind === 'never' ? null : summary.probe.ms;
}

export function machineRoundLine(summary: MachineRoundSummary, rounds: number): string {
  const { plan, probe } = summary;
  const served =
    probe.kind === 'never'
      ? `NOT served again (${probe.last})`
      : `first ${probe.kind === 'served' ? probe.status : probe.code} ${seconds(probe.ms)} s after the kill`;
  return (
    `round ${plan.round + 1}/${rounds}: ${plan.saleId} on ${summary.ownerBefore}, lost machine ` +
    `${summary.machine} (${plan.victim}) after ${plan.killAfterAnswers}/${plan.orders.length} ` +
    `answers; ${served}; lease to ${summary.ownerAfter ?? '?'} at ${seconds(summary.handoverMs)} s; ` +
    `machine back (restarted) at ${seconds(summary.backMs)} s; ` +
    `streams current again at ${seconds(summary.replicasMs)} s`
  );
}

function roundsTable(report: MachineLossReport): string {
  const rows = report.rounds.map((summary, i) => {
    const { plan } = summary;
    const [acked, refused, gaveUp, retried] = report.answers[i] ?? [0, 0, 0, 0];
    const led = [
      summary.ledSaleLog ? `SALE_LOG ${seconds(summary.saleLogElectedMs)}` : '',
      summary.ledLeases ? `leases ${seconds(summary.leasesElectedMs)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return [
      String(plan.round + 1),
      `${formatCount(plan.stock)}${plan.sellsOut ? ' (sells out)' : ''}`,
      `${summary.machine} (${plan.victim})`,
      `${summary.ownerBefore.replace('machine-', '')}→${(summary.ownerAfter ?? '?').replace('machine-', '')}`,
      led || '–',
      `${formatCount(acked)}/${formatCount(refused)}/${formatCount(gaveUp)}/${formatCount(retried)}`,
      seconds(summary.handoverMs),
      seconds(failoverMsOf(summary)),
      seconds(summary.backMs),
      seconds(summary.replicasMs),
    ];
  });
  return formatTable(
    [
      'round',
      'stock',
      'machine lost',
      'owner',
      'node led: re-elected s',
      'acked/refused/gave up/retried',
      'lease moved s',
      'first served s',
      'back s',
      'streams current s',
    ],
    rows,
    ['right', 'right', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
}

/** Kill → first order served, for the rounds that lost the sale's owner (never-served ones left out). */
function ownerFailovers(report: MachineLossReport): number[] {
  return report.rounds
    .filter((r) => r.plan.victim === 'owner')
    .map(failoverMsOf)
    .filter((ms): ms is number => ms !== null);
}

/** The 99th percentile of the owner failovers is within the goal (a round never served fails it). */
export function failoverGoalMet(report: MachineLossReport): boolean {
  const sorted = ownerFailovers(report).sort((a, b) => a - b);
  const never = report.rounds.some((r) => r.probe.kind === 'never');
  return !never && sorted.length > 0 && quantile(sorted, 0.99) <= FAILOVER_P99_MS_GOAL;
}

/** p50/p90/p99/max of the rounds given, with how many; "–" when none. */
export function distribution(ms: readonly number[]): string {
  if (ms.length === 0) return 'none measured';
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => seconds(quantile(sorted, q));
  return (
    `p50 ${at(0.5)} s, p90 ${at(0.9)} s, p99 ${at(0.99)} s, max ${at(1)} s ` +
    `(${sorted.length} rounds)`
  );
}

export function formatMachineLossReport(report: MachineLossReport): string {
  const owners = report.rounds.filter((r) => r.plan.victim === 'owner');
  const others = report.rounds.filter((r) => r.plan.victim === 'other');
  const measured = (rounds: readonly MachineRoundSummary[]) =>
    rounds.map(failoverMsOf).filter((ms): ms is number => ms !== null);
  const handovers = owners.map((r) => r.handoverMs).filter((ms): ms is number => ms !== null);
  const elected = (field: 'saleLogElectedMs' | 'leasesElectedMs') =>
    report.rounds.map((r) => r[field]).filter((ms): ms is number => ms !== null);
  const failovers = measured(owners);
  const p99 =
    failovers.length === 0
      ? null
      : quantile(
          [...failovers].sort((a, b) => a - b),
          0.99,
        );
  const lines = [
    `seed ${report.seed}: ${report.rounds.length} machine-loss rounds ` +
      `(${owners.length} of the sale's owner, ${others.length} of another machine)`,
    '',
    roundsTable(report),
    '',
    `failover, owner lost (kill → first order served): ${distribution(failovers)}`,
    `  of which the lease moving to another engine: ${distribution(handovers)}`,
    `  SALE_LOG's leader elected again, where the lost node led it: ${distribution(elected('saleLogElectedMs'))}`,
    `  the lease bucket's leader elected again, where the lost node led it: ${distribution(elected('leasesElectedMs'))}`,
    `another machine lost (kill → first order served): ${distribution(measured(others))}`,
    !failoverGoalMet(report)
      ? `FAILOVER GOAL MISSED: p99 ${seconds(p99)} s > ${seconds(FAILOVER_P99_MS_GOAL)} s`
      : `failover goal met: p99 ${seconds(p99)} s ≤ ${seconds(FAILOVER_P99_MS_GOAL)} s`,
    '',
    formatAuditTable(report.audit),
    '',
    report.breaches.length === 0
      ? 'AUDIT PASSED: no breach'
      : `AUDIT FAILED: ${report.breaches.length} breaches`,
    ...auditProblemLines(report.audit, Number.POSITIVE_INFINITY),
  ];
  return lines.join('\n');
}
