// A reader for the plain block-style YAML that docker-compose.yml is written in: nested mappings,
// sequences of scalars, plain/quoted scalars and JSON-style flow sequences. Anything else (anchors,
// aliases, merge keys, block scalars, mappings inside sequences, several documents) is refused
// with the line number, so the deployment test never checks a file it misread. No YAML library is
// a dependency of the project, and compose files need no more than this.

export type YamlValue = string | number | boolean | null | YamlValue[] | YamlMap;
export interface YamlMap {
  [key: string]: YamlValue;
}

interface Line {
  readonly number: number;
  readonly indent: number;
  readonly text: string;
}

const KEY_LINE = /^("[^"]*"|'[^']*'|[^\s"'#\-[{][^:]*?|-[^\s:][^:]*?)\s*:(?:\s+(.*))?$/;

export class YamlSubsetError extends Error {}

export function parseBlockYaml(source: string): YamlValue {
  const lines = toLines(source);
  if (lines.length === 0) return null;
  const [value, next] = parseNode(lines, 0, lines[0]!.indent);
  if (next < lines.length) fail(lines[next]!, 'unexpected indentation');
  return value;
}

function toLines(source: string): Line[] {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, index) => {
    const number = index + 1;
    if (/^\t| \t/.test(raw)) throw new YamlSubsetError(`line ${number}: tab in indentation`);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '') return;
    const indent = text.length - text.trimStart().length;
    const line = { number, indent, text: text.trimStart() };
    if (line.text === '---' || line.text === '...') fail(line, 'several documents');
    lines.push(line);
  });
  return lines;
}

function stripComment(raw: string): string {
  let quote: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(raw[i - 1]!))) return raw.slice(0, i);
  }
  return raw;
}

function fail(line: Line, why: string): never {
  throw new YamlSubsetError(`line ${line.number}: ${why} (not in the YAML subset this test reads)`);
}

function isSequenceItem(line: Line): boolean {
  return line.text === '-' || line.text.startsWith('- ');
}

function parseNode(lines: Line[], start: number, indent: number): [YamlValue, number] {
  return isSequenceItem(lines[start]!)
    ? parseSequence(lines, start, indent)
    : parseMapping(lines, start, indent);
}

function parseSequence(lines: Line[], start: number, indent: number): [YamlValue[], number] {
  const items: YamlValue[] = [];
  let i = start;
  while (i < lines.length && lines[i]!.indent === indent && isSequenceItem(lines[i]!)) {
    const line = lines[i]!;
    const item = line.text.slice(1).trim();
    if (item === '' || KEY_LINE.test(item)) fail(line, 'a mapping or block inside a sequence');
    items.push(parseScalar(item, line));
    i++;
    if (i < lines.length && lines[i]!.indent > indent) fail(lines[i]!, 'a nested sequence item');
  }
  return [items, i];
}

function parseMapping(lines: Line[], start: number, indent: number): [YamlMap, number] {
  const map: YamlMap = {};
  let i = start;
  while (i < lines.length && lines[i]!.indent === indent) {
    const line = lines[i]!;
    if (isSequenceItem(line)) fail(line, 'a sequence item among mapping keys');
    const match = KEY_LINE.exec(line.text);
    if (match === null) fail(line, 'a line that is not `key: value`');
    const key = unquote(match[1]!);
    if (Object.hasOwn(map, key)) fail(line, `the key ${key} twice`);
    if (key === '<<') fail(line, 'a merge key');
    const rest = match[2];
    i++;
    if (rest !== undefined && rest !== '') {
      map[key] = parseScalar(rest, line);
      continue;
    }
    const next = lines[i];
    if (next !== undefined && next.indent > indent) {
      [map[key], i] = parseNode(lines, i, next.indent);
    } else if (next !== undefined && next.indent === indent && isSequenceItem(next)) {
      [map[key], i] = parseSequence(lines, i, indent);
    } else {
      map[key] = null;
    }
  }
  if (i < lines.length && lines[i]!.indent > indent) fail(lines[i]!, 'unexpected indentation');
  return [map, i];
}

function unquote(text: string): string {
  if (text.startsWith('"')) return JSON.parse(text) as string;
  if (text.startsWith("'")) return text.slice(1, -1).replaceAll("''", "'");
  return text;
}

function parseScalar(text: string, line: Line): YamlValue {
  if (/^[&*!]/.test(text)) fail(line, 'an anchor, alias or tag');
  if (/^[|>]/.test(text)) fail(line, 'a block scalar');
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      return JSON.parse(text) as YamlValue;
    } catch {
      fail(line, 'a flow collection that is not JSON');
    }
  }
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      fail(line, 'a malformed double-quoted string');
    }
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) fail(line, 'a malformed single-quoted string');
    return unquote(text);
  }
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null' || text === '~') return null;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** The mapping at `value`, or an error naming `what`. */
export function asMap(value: YamlValue | undefined, what: string): YamlMap {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new YamlSubsetError(`${what} is not a mapping`);
  return value;
}
