import { readFileSync } from 'node:fs';

// The environment settings each process reads, taken from the TypeBox schema in its config file
// (the one place they are declared), with the default when it is written as a literal there. The
// deployment test holds docker-compose.yml, the image's entrypoint and docs/operations.md to them.

export const ROLE_CONFIG_FILES = {
  engine: 'engine/shell/config.ts',
  gateway: 'gateway/config.ts',
  'shipping-agent': 'shipping-agent/config.ts',
  'fake-carrier': 'fake-carrier/config.ts',
} as const;

export type Role = keyof typeof ROLE_CONFIG_FILES;
export const ROLES = Object.keys(ROLE_CONFIG_FILES) as Role[];

export interface Setting {
  readonly name: string;
  /** The literal default (numbers without `_`), or null when there is none or it isn't a literal. */
  readonly default: string | null;
}

const SCHEMA_START = /=\s*Type\.Object\(\{\s*$/;
const KEY = /^ {2}([A-Z][A-Z0-9_]*):/;
const DEFAULT = /\bdefault:\s*(?:'([^']*)'|(-?[\d_]+(?:\.\d+)?)\b)/;

/** The settings of the first `Type.Object({` whose keys are environment variable names. */
export function readSettings(root: string, file: string): Setting[] {
  const lines = readFileSync(`${root}/${file}`, 'utf8').split('\n');
  const isComment = (line: string) => /^\s*(\/\/|\/\*|\*)/.test(line);
  const start = lines.findIndex(
    (line, i) =>
      SCHEMA_START.test(line) && KEY.test(lines.slice(i + 1).find((l) => !isComment(l)) ?? ''),
  );
  if (start < 0) throw new Error(`${file}: no Type.Object({ of environment settings`);
  const entries: { name: string; text: string }[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\}\);?\s*$/.test(line)) break;
    const key = KEY.exec(line);
    const code = isComment(line) ? '' : line;
    if (key !== null) entries.push({ name: key[1]!, text: code });
    else if (entries.length > 0) entries.at(-1)!.text += `\n${code}`;
  }
  return entries.map(({ name, text }) => {
    const found = DEFAULT.exec(text);
    const literal = found === null ? null : (found[1] ?? found[2]!.replaceAll('_', ''));
    return { name, default: literal };
  });
}

export function settingsByRole(root: string): Record<Role, Setting[]> {
  return Object.fromEntries(
    ROLES.map((role) => [role, readSettings(root, ROLE_CONFIG_FILES[role])]),
  ) as Record<Role, Setting[]>;
}
