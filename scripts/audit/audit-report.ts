import { formatCount, formatTable } from '../cli/text-table.js';
import type { AuditRow } from './audit-rows.js';

// An audit's rows as the tools print them: a table (check, things checked, breaches — what could
// not be read counts there too: it is not a pass), then each breach (BROKEN) and each thing left
// unread (UNCHECKED) in words, the first `listedMax` of them.

/** Lines listed one by one by default; past this, the rest are counted. */
export const LISTED_MAX_DEFAULT = 20;

export function formatAuditTable(rows: readonly AuditRow[]): string {
  return formatTable(
    ['check', 'checked', 'breaches'],
    rows.map((row) => [
      row.check,
      formatCount(row.checked),
      formatCount(row.breaches.length + row.unread.length),
    ]),
  );
}

/** `  BROKEN    <line>` / `  UNCHECKED <line>`, in row order. */
export function auditProblemLines(
  rows: readonly AuditRow[],
  listedMax = LISTED_MAX_DEFAULT,
): string[] {
  const lines = rows.flatMap((row) => [
    ...row.breaches.map((line) => `  BROKEN    ${line}`),
    ...row.unread.map((line) => `  UNCHECKED ${line}`),
  ]);
  if (lines.length <= listedMax) return lines;
  return [
    ...lines.slice(0, listedMax),
    `  ... and ${formatCount(lines.length - listedMax)} more like these`,
  ];
}
