// One row of a benchmark table. `ratio` compares `value` with a baseline measured in the same
// run, because this machine is shared and noisy: absolute figures drift, ratios much less.
export interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: string;
  readonly ratio?: number;
  readonly note?: string;
}

const formatNumber = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);

export function printTable(title: string, rows: readonly BenchRow[]): void {
  const header = ['benchmark', 'value', 'unit', 'ratio', 'baseline / note'];
  const lines = rows.map((row) => [
    row.name,
    formatNumber(row.value),
    row.unit,
    row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x`,
    [row.baseline ? `vs ${row.baseline}` : '', row.note ?? ''].filter(Boolean).join('; '),
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n### ${title}\n`);
  console.log(render(header));
  console.log(render(widths.map((w) => '-'.repeat(w))));
  for (const line of lines) console.log(render(line));
}
