import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

// The rules of the project's layout (DESIGN.md, docs/architecture.md), read from the sources'
// imports: the gateway and the shipping agent reach the engine through its protocol module only;
// the WAL knows bytes, not sales; the service kit is plumbing that knows none of our services.
// (The engine core's own purity has its test: core-purity.test.ts.)

const ROOT = new URL('..', import.meta.url).pathname;

/** The .ts files below `dir`, and each of their relative imports as a path from the root. */
function importsBelow(dir: string): { files: number; imports: { file: string; target: string }[] } {
  const found: { file: string; target: string }[] = [];
  let files = 0;
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    files += 1;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g))
      found.push({
        file: relative(ROOT, path),
        target: relative(ROOT, resolve(dirname(path), match[1]!)),
      });
  }
  return { files, imports: found };
}

/** True when `target` is inside one of `dirs` or is one of the named files. */
const within =
  (...allowed: string[]) =>
  (target: string): boolean =>
    allowed.some((entry) => (entry.endsWith('/') ? target.startsWith(entry) : target === entry));

const PROTOCOL = 'engine/protocol/index.js';

const RULES: { dir: string; may: (target: string) => boolean; rule: string }[] = [
  {
    dir: 'gateway',
    may: within('gateway/', 'service-kit/', PROTOCOL),
    rule: 'imports its own files, the service kit and the engine protocol only',
  },
  {
    dir: 'shipping-agent',
    may: within('shipping-agent/', 'service-kit/', PROTOCOL),
    rule: 'imports its own files, the service kit and the engine protocol only',
  },
  {
    dir: 'engine',
    may: within('engine/', 'wal/', 'service-kit/'),
    rule: 'imports nothing of the gateway, the agent, the scripts or the benches',
  },
  {
    dir: 'engine/protocol',
    may: within('engine/protocol/', 'engine/core/'),
    rule: 'imports the pure core at most, never the shell',
  },
  { dir: 'wal', may: within('wal/'), rule: 'imports nothing outside wal/' },
  { dir: 'service-kit', may: within('service-kit/'), rule: 'imports nothing outside service-kit/' },
];

for (const { dir, may, rule } of RULES)
  t.test(`${dir} ${rule}`, async (t) => {
    const { files, imports } = importsBelow(dir);
    t.ok(files > 0, `${dir} has sources to check`);
    const broken = imports.filter(({ target }) => !may(target));
    t.same(broken, [], 'no import breaks the rule');
  });
