import type { StackChaosReport } from './stack-chaos.js';

// The chaos run's report as text: a summary of what was done, the audit table (one row per
// check), and every breach in words. What `npm run chaos` prints and the test reads back.

const count = (value: number): string => value.toLocaleString('en-US');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const render = (cells: readonly string[]) =>
    `| ${widths.map((width, i) => (cells[i] ?? '').padEnd(width)).join(' | ')} |`;
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...rows.map(render)].join('\n');
}

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
    `${count(report.requests)} orders sent: ${count(report.acknowledged)} acknowledged ` +
      `(${count(sum((r) => r.recoveredByReplay))} only on a retry, answered 200), ` +
      `${count(sum((r) => r.refused))} refused, ${count(sum((r) => r.gaveUp))} gave up, ` +
      `${count(sum((r) => r.retried))} needed retries`,
    `the engine holds ${count(audit.orders)} orders: ${count(audit.shipped)} shipped, ` +
      `${count(audit.deadLettered)} dead-lettered` +
      (audit.deadLetteredShipped === 0
        ? ''
        : ` (${count(audit.deadLetteredShipped)} of them shipped by the carrier, answer lost)`) +
      '; shipping settled in ' +
      `${Math.round(report.settle.waitedMs)} ms` +
      (report.settle.pending.length === 0
        ? ''
        : ` (${report.settle.pending.length} still pending)`),
    ...Object.entries(audit.deadLetterReasons).map(
      ([reason, n]) => `  dead letters: ${count(n)} × "${reason}"`,
    ),
    '',
    table(
      ['check', 'checked', 'breaches'],
      audit.rows.map((row) => [row.check, count(row.checked), count(row.breaches)]),
    ),
    '',
    report.breaches.length === 0
      ? 'AUDIT PASSED: no breach'
      : `AUDIT FAILED: ${report.breaches.length} breaches`,
  ];
  for (const breach of report.breaches) lines.push(`BREACH ${breach}`);
  return lines.join('\n');
}
