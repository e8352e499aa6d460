import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

// The decision core must stay pure (DESIGN.md, STYLE.md §1): it may import only its own files and
// must not reach for a clock, randomness, timers or the process. A source scan keeps it honest.
const CORE_DIR = new URL('../engine/core/', import.meta.url).pathname;
const FORBIDDEN = [
  /\bDate\.now\b/,
  /\bnew Date\b/,
  /\bMath\.random\b/,
  /\bperformance\b/,
  /\bprocess\./,
  /\bset(Timeout|Interval|Immediate)\b/,
  /\brequire\(/,
];

const sources = readdirSync(CORE_DIR)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => ({ name, text: readFileSync(join(CORE_DIR, name), 'utf8') }));

t.ok(sources.length >= 5, 'the core files were found');

for (const { name, text } of sources) {
  t.test(name, async (t) => {
    const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
    for (const specifier of imports)
      t.match(specifier, /^\.\/[a-z-]+\.js$/, `imports ${specifier}`);
    for (const pattern of FORBIDDEN) t.notMatch(text, pattern, `no ${pattern.source}`);
  });
}
