import { readdirSync, readFileSync } from 'node:fs';

// CPU time per process group over a stretch of a run, read from Linux's /proc: how much work
// each part of a system did per accepted order, and how busy the machine was. A design that is
// slow while the cores sit idle is waiting (on a lock, a disk, a round trip), not computing.
// Where /proc is missing, every figure reads 0.

/** Linux reports process times in clock ticks of 1/100 s (`getconf CLK_TCK`). */
const MS_PER_CLOCK_TICK = 10;

/** A named set of processes, found afresh at each reading (backends come and go). */
export interface ProcessGroup {
  readonly name: string;
  readonly pids: () => readonly number[];
  /**
   * Whether its CPU is the server's, summed as "server CPU per reply": the system under test's
   * own processes. Not the load generator, nor helpers that serve no request (a shipping agent).
   */
  readonly server: boolean;
}

/** The group of one child process of the server (none while it has no pid). */
export const processGroup = (
  name: string,
  child: { readonly pid?: number | undefined },
  server = true,
): ProcessGroup => ({ name, server, pids: () => (child.pid === undefined ? [] : [child.pid]) });

/** This process, which generates the load in every bench that reads CPU. */
export const LOAD_GENERATOR: ProcessGroup = processGroup('load generator', process, false);

export interface CpuReading {
  /** Group name → pid → CPU ms (user + system) so far. */
  readonly byGroup: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** The names of the groups whose CPU is the server's. */
  readonly serverGroups: ReadonlySet<string>;
  /** All cores, ms busy and ms in all, since boot. */
  readonly machineBusyMs: number;
  readonly machineTotalMs: number;
}

function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after its closing parenthesis don't.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_CLOCK_TICK;
  } catch {
    return null;
  }
}

function machineMs(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: (total - idle) * MS_PER_CLOCK_TICK, total: total * MS_PER_CLOCK_TICK };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Pids (other than this process) whose command line matches, e.g. a PostgreSQL backend's. */
export function pidsWhere(matches: (commandLine: string) => boolean): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (matches(commandLine)) pids.push(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return pids;
}

export function readCpu(groups: readonly ProcessGroup[]): CpuReading {
  const byGroup = new Map<string, Map<number, number>>();
  const serverGroups = new Set(groups.filter((group) => group.server).map((group) => group.name));
  for (const group of groups) {
    const byPid = new Map<number, number>();
    for (const pid of group.pids()) {
      const ms = processCpuMs(pid);
      if (ms !== null) byPid.set(pid, ms);
    }
    byGroup.set(group.name, byPid);
  }
  const machine = machineMs();
  return { byGroup, serverGroups, machineBusyMs: machine.busy, machineTotalMs: machine.total };
}

export interface CpuSpent {
  /** Group name → CPU ms spent between the two readings. */
  readonly byGroup: ReadonlyMap<string, number>;
  /** The server groups' CPU ms together. */
  readonly serverMs: number;
  /** Share of all cores busy between the two readings, 0–1. */
  readonly machineBusyShare: number;
}

/**
 * CPU spent between two readings, process by process. One that appeared in between (a new
 * backend) counts from 0: its whole life falls in the stretch. One that exited in between is
 * left out: its last moments can't be read.
 */
export function cpuBetween(before: CpuReading, after: CpuReading): CpuSpent {
  const byGroup = new Map<string, number>();
  let serverMs = 0;
  for (const [name, pids] of after.byGroup) {
    const earlier = before.byGroup.get(name);
    let spent = 0;
    for (const [pid, ms] of pids) spent += Math.max(0, ms - (earlier?.get(pid) ?? 0));
    byGroup.set(name, spent);
    if (after.serverGroups.has(name)) serverMs += spent;
  }
  const total = after.machineTotalMs - before.machineTotalMs;
  const busy = after.machineBusyMs - before.machineBusyMs;
  return { byGroup, serverMs, machineBusyShare: total > 0 ? busy / total : 0 };
}
