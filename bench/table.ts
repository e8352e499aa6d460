import { formatTable } from '../scripts/cli/text-table.js';

// One row of a benchmark table. `ratio` compares `value` with a baseline measured in the same
// run, because this machine is shared and noisy: absolute figures drift, ratios much less.
export interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: string;
  readonly ratio?: number;
  /** Server CPU (user + system of its processes) per reply, µs: its own column when any row has it. */
  readonly serverCpuUs?: number;
  readonly note?: string;
}

const formatNumber = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);

export function printTable(title: string, rows: readonly BenchRow[]): void {
  // On a 2-core machine a rate's ratio is mostly a ratio of CPU per reply: shown beside it.
  const cpu = rows.some((row) => row.serverCpuUs !== undefined);
  const header = ['benchmark', 'value', 'unit', 'ratio'];
  if (cpu) header.push('server CPU µs/reply');
  header.push('baseline / note');
  const lines = rows.map((row) => {
    const cells = [
      row.name,
      formatNumber(row.value),
      row.unit,
      row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x`,
    ];
    if (cpu) cells.push(row.serverCpuUs === undefined ? '' : String(Math.round(row.serverCpuUs)));
    cells.push(
      [row.baseline ? `vs ${row.baseline}` : '', row.note ?? ''].filter(Boolean).join('; '),
    );
    return cells;
  });
  console.log(`\n### ${title}\n`);
  console.log(formatTable(header, lines));
}
