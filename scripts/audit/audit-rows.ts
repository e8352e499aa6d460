import type { SaleReading } from './reading.js';

// An audit's result as rows: one per check, with how many things it looked at, what breaks it
// and what could not be read. Nothing throws on a breach: a run reports all of them. A check is a
// function of one sale's reading; an audit of many sales adds their rows up by check, so a tool
// (or a later invariant: machine loss, the waiting room) adds a check by adding a function.

export interface AuditRow {
  readonly check: string;
  /** How many things it looked at: sales, customers, orders. */
  readonly checked: number;
  /** What breaks the invariant, a line each. */
  readonly breaches: readonly string[];
  /** What could not be read, so neither holds nor breaks it: not a pass either. */
  readonly unread: readonly string[];
}

export type Check = (reading: SaleReading) => AuditRow;

/** A row being filled in by a check. */
export class RowBuilder {
  readonly breaches: string[] = [];
  readonly unread: string[] = [];
  checked = 0;

  constructor(readonly check: string) {}

  breach(line: string): void {
    this.breaches.push(line);
  }

  cannotRead(line: string): void {
    this.unread.push(line);
  }

  row(): AuditRow {
    const { check, checked, breaches, unread } = this;
    return { check, checked, breaches, unread };
  }
}

/** A row from counts a tool found itself (answers, shipping, processes): nothing unread. */
export const rowOf = (check: string, checked: number, breaches: readonly string[]): AuditRow => ({
  check,
  checked,
  breaches,
  unread: [],
});

/** Rows of the same check added up, in the order the checks first appear. */
export function mergeRows(rows: readonly AuditRow[]): AuditRow[] {
  const merged = new Map<string, RowBuilder>();
  for (const row of rows) {
    let into = merged.get(row.check);
    if (into === undefined) {
      into = new RowBuilder(row.check);
      merged.set(row.check, into);
    }
    into.checked += row.checked;
    into.breaches.push(...row.breaches);
    into.unread.push(...row.unread);
  }
  return [...merged.values()].map((builder) => builder.row());
}

/** Every check on every sale, a row per check. */
export function runChecks(readings: readonly SaleReading[], checks: readonly Check[]): AuditRow[] {
  return mergeRows(readings.flatMap((reading) => checks.map((check) => check(reading))));
}

/** True when every row holds: no breach, nothing unread. */
export const passed = (rows: readonly AuditRow[]): boolean =>
  rows.every((row) => row.breaches.length === 0 && row.unread.length === 0);

/** Every breach and every unread item, in row order: what a tool that fails on both lists. */
export const failuresOf = (rows: readonly AuditRow[]): string[] =>
  rows.flatMap((row) => [...row.breaches, ...row.unread]);
