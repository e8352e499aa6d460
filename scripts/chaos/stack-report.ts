import { auditProblemLines, formatAuditTable } from '../audit/audit-report.js';
import { formatCount } from '../cli/text-table.js';
import type { StackChaosReport } from './stack-run.js';

// The chaos run's report as text: a summary of what was done, the audit table (one row per
// check), and every breach in words. What `npm run chaos` prints and the test reads back.

export function formatStackChaosReport(report: StackChaosReport): string {
  const { audit, rounds } = report;
  const sum = (pick: (r: (typeof rounds)[number]) => number) =>
    rounds.reduce((total, r) => total + pick(r), 0);
  const kills = Object.entries(report.kills)
    .map(([target, n]) => `${target} ×${n}`)
    .join(', ');
  const lines = [
    `seed ${report.seed}: ${rounds.length} rounds, SIGKILLs: ${kills}; ` +
      `carrier outages: ${rounds.filter((r) => r.carrierOutageMs > 0).length}`,
    `${formatCount(report.requests)} orders sent: ${formatCount(report.acknowledged)} acknowledged ` +
      `(${formatCount(sum((r) => r.recoveredByReplay))} only on a retry, answered 200), ` +
      `${formatCount(sum((r) => r.refused))} refused, ${formatCount(sum((r) => r.gaveUp))} gave up, ` +
      `${formatCount(sum((r) => r.retried))} needed retries`,
    `the engine holds ${formatCount(audit.orders)} orders: ${formatCount(audit.shipped)} shipped, ` +
      `${formatCount(audit.deadLettered)} dead-lettered` +
      (audit.deadLetteredShipped === 0
        ? ''
        : ` (${formatCount(audit.deadLetteredShipped)} of them shipped by the carrier, answer lost)`) +
      '; shipping settled in ' +
      `${Math.round(report.settle.waitedMs)} ms` +
      (report.settle.pending.length === 0
        ? ''
        : ` (${report.settle.pending.length} still pending)`),
    ...Object.entries(audit.deadLetterReasons).map(
      ([reason, n]) => `  dead letters: ${formatCount(n)} × "${reason}"`,
    ),
    '',
    formatAuditTable(audit.rows),
    '',
    report.breaches.length === 0
      ? 'AUDIT PASSED: no breach'
      : `AUDIT FAILED: ${report.breaches.length} breaches`,
    // Every one of them: a chaos run's breaches are few and each is worth reading.
    ...auditProblemLines(audit.rows, Number.POSITIVE_INFINITY),
  ];
  return lines.join('\n');
}
