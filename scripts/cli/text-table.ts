// The one table printer of the tools and the benches: aligned Markdown-style text, for reports
// that a person reads in a terminal and may paste into a document.

export type Alignment = 'left' | 'right';

/**
 * The header, a separator and the rows, each column as wide as its widest cell. Columns are
 * left-aligned unless `align` says otherwise; a right-aligned column (numbers) says so in the
 * separator too (`---:`), as Markdown reads it.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Alignment[] = [],
): string {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const right = (i: number): boolean => align[i] === 'right';
  const render = (cells: readonly string[]): string =>
    `| ${widths
      .map((width, i) =>
        right(i) ? (cells[i] ?? '').padStart(width) : (cells[i] ?? '').padEnd(width),
      )
      .join(' | ')} |`;
  const separator = `| ${widths
    .map((width, i) => (right(i) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width)))
    .join(' | ')} |`;
  return [render(header), separator, ...rows.map(render)].join('\n');
}

/** 12,345 (en-US grouping, whatever the machine's locale). */
export const formatCount = (value: number): string => value.toLocaleString('en-US');

export const formatMs = (ms: number): string => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
