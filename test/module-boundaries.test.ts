import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

// The rules of the project's layout (DESIGN.md, docs/architecture.md), read from the sources'
// imports: the gateway and the shipping agent reach the engine through its protocol module only;
// the WAL knows bytes, not sales; the service kit is plumbing that knows none of our services;
// the tools (scripts/) and the benchmarks (bench/) each folder to its job, with the arrows below.
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

type Rule = { dir: string; may: (target: string) => boolean; rule: string };

/** What a tool may use of the services: their protocol, the service kit, the gateway's settings. */
const SERVICES_FOR_TOOLS = ['engine/protocol/', 'service-kit/', 'gateway/config.js'];
/** The folders of scripts/ that every tool shares. */
const SHARED_TOOL_FOLDERS = ['scripts/cli/', 'scripts/client/', 'scripts/audit/', 'scripts/stack/'];

// scripts/: the entry points at its top, a folder per job below. The shared folders know no tool,
// and a tool (burst, chaos, cluster) uses them, never another tool's folder, so each can change
// alone; nothing in scripts/ reaches into the benches.
const TOOL_RULES: Rule[] = [
  {
    dir: 'scripts',
    may: within('scripts/', 'fake-carrier/', ...SERVICES_FOR_TOOLS),
    rule: "imports the tools, the services' protocol, kit and settings, never the benches",
  },
  { dir: 'scripts/cli', may: within('scripts/cli/'), rule: 'imports nothing of ours' },
  {
    dir: 'scripts/client',
    may: within('scripts/client/', 'scripts/cli/', 'engine/protocol/'),
    rule: 'talks to the system as a client: the protocol, nothing of the tools',
  },
  {
    dir: 'scripts/audit',
    may: within('scripts/audit/', 'scripts/client/', 'scripts/cli/', 'engine/protocol/'),
    rule: 'reads back through the clients and knows no tool, so that every tool can use it',
  },
  {
    dir: 'scripts/stack',
    may: within(
      'scripts/stack/',
      'scripts/client/',
      'scripts/cli/',
      'fake-carrier/',
      ...SERVICES_FOR_TOOLS,
    ),
    rule: 'starts the services as processes and knows no tool',
  },
  ...['burst', 'chaos', 'cluster'].map((tool) => ({
    dir: `scripts/${tool}`,
    may: within(`scripts/${tool}/`, ...SHARED_TOOL_FOLDERS, ...SERVICES_FOR_TOOLS),
    rule: "imports its own files and the shared folders, never another tool's",
  })),
];

// bench/: a benchmark measures the services' internals where it must (the core, the WAL, the
// recovery) and drives the rest like the tools do; it runs no tool (no entry point, no chaos or
// cluster rehearsal; the burst's plan is shared, so both systems of bench:compare get the same
// orders). The conventional system is a server of its own, measured by the benches, never a
// user of their harness.
const BENCH_RULES: Rule[] = [
  {
    dir: 'bench',
    may: within(
      'bench/',
      ...SHARED_TOOL_FOLDERS,
      'scripts/burst/',
      'engine/',
      'wal/',
      'gateway/',
      'service-kit/',
    ),
    rule: 'imports the services, the shared tool folders and the burst plan, no tool',
  },
  {
    dir: 'bench/conventional',
    may: within(
      'bench/conventional/',
      'engine/protocol/',
      'gateway/auth.js',
      'gateway/errors.js',
      'gateway/schemas.js',
      'gateway/views.js',
      'scripts/stack/',
    ),
    rule: "imports the gateway's API pieces and the protocol's catalogue, never the bench harness",
  },
  {
    dir: 'bench/load',
    may: within('bench/load/', 'bench/compare/cpu-usage.js', 'scripts/client/'),
    rule: 'imports the clients and the CPU reading only: it is the load generator',
  },
];

const RULES: Rule[] = [
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
  {
    dir: 'fake-carrier',
    may: within('fake-carrier/', 'service-kit/'),
    rule: 'imports its own files and the service kit only: nothing of the agent it stands in for',
  },
  { dir: 'wal', may: within('wal/'), rule: 'imports nothing outside wal/' },
  ...TOOL_RULES,
  ...BENCH_RULES,
  { dir: 'service-kit', may: within('service-kit/'), rule: 'imports nothing outside service-kit/' },
];

for (const { dir, may, rule } of RULES)
  t.test(`${dir} ${rule}`, async (t) => {
    const { files, imports } = importsBelow(dir);
    t.ok(files > 0, `${dir} has sources to check`);
    const broken = imports.filter(({ target }) => !may(target));
    t.same(broken, [], 'no import breaks the rule');
  });
