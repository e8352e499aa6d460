import { readdirSync, readFileSync } from 'node:fs';

// The processes a process started, and theirs, read from Linux's /proc: how a bench finds the
// gateways, engine and nats-server of a stack it did not start itself (`npm start`'s), to read
// their CPU. Without /proc there are none.

export interface ProcessInfo {
  readonly pid: number;
  /** Its command line, arguments separated by spaces. */
  readonly commandLine: string;
}

function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (which may hold spaces or parentheses): state, then the parent's pid.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null; // Gone since the listing.
  }
}

function commandLineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return null;
  }
}

/** One variable of a process's environment as it started, or null (gone, unreadable, unset). */
export function environmentOf(pid: number, name: string): string | null {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const entry = entries.find((line) => line.startsWith(`${name}=`));
    return entry === undefined ? null : entry.slice(name.length + 1);
  } catch {
    return null;
  }
}

/** Every live descendant of `root` (not `root` itself), at the moment of the call. */
export function descendantsOf(root: number): ProcessInfo[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  const childrenOf = new Map<number, number[]>();
  for (const entry of entries) {
    const parent = parentOf(entry);
    if (parent === null) continue;
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), Number(entry)]);
  }
  const found: ProcessInfo[] = [];
  const toVisit = [...(childrenOf.get(root) ?? [])];
  for (let pid = toVisit.pop(); pid !== undefined; pid = toVisit.pop()) {
    const commandLine = commandLineOf(pid);
    if (commandLine !== null) found.push({ pid, commandLine });
    toVisit.push(...(childrenOf.get(pid) ?? []));
  }
  return found;
}
