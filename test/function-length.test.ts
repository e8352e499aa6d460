import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import ts from 'typescript';

// Functions short enough to read at once (TigerBeetle's TIGER_STYLE: 70 lines), read from the
// sources: every function, method and arrow outside the tests. Wiring reads as a list of named
// steps, not one long function; a function that grows past the bound is split, or named below
// with the reason it stays.

const ROOT = new URL('..', import.meta.url).pathname;
const FUNCTION_LINES_MAX = 70;
const SOURCE_DIRS = [
  'engine',
  'gateway',
  'shipping-agent',
  'fake-carrier',
  'wal',
  'service-kit',
  'scripts',
  'bench',
];
/** Functions allowed past the bound, `file:name`, each with why. */
const LONG_ON_PURPOSE: Readonly<Record<string, string>> = {};

function longFunctions(): { where: string; lines: number }[] {
  const found: { where: string; lines: number }[] = [];
  for (const dir of SOURCE_DIRS)
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
      const path = join(entry.parentPath, entry.name);
      const file = relative(ROOT, path);
      const source = ts.createSourceFile(file, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
          const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          const name = ts.getNameOfDeclaration(node as ts.Declaration)?.getText(source) ?? '(anon)';
          if (last - first + 1 > FUNCTION_LINES_MAX)
            found.push({ where: `${file}:${name}`, lines: last - first + 1 });
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  return found;
}

t.test(`no function outside the tests is longer than ${FUNCTION_LINES_MAX} lines`, async (t) => {
  const long = longFunctions();
  t.ok(long.length < 1_000, 'the sources were read');
  for (const { where, lines } of long)
    t.ok(where in LONG_ON_PURPOSE, `${where}: ${lines} lines`, { reason: LONG_ON_PURPOSE[where] });
  for (const where of Object.keys(LONG_ON_PURPOSE))
    t.ok(
      long.some((found) => found.where === where),
      `${where} is listed as long but is not: take it off the list`,
    );
});
