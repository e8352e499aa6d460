import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

// Whether the processes that launched this one are still there. `npm start` runs
// `sh -c "npm run build && node dist/scripts/dev-stack.js"`: a `kill -9` of npm alone leaves sh
// and the dev stack running, with no signal to tell them, and the terminal's Ctrl-C then reaches
// nobody who would stop the stack. Node can't ask the kernel for a signal on a parent's death
// (prctl's PR_SET_PDEATHSIG), so we look in /proc: our parent, and past each `sh -c` wrapper the
// process that ran it (npm, npx, make…). Without /proc, only our parent is watched.

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'busybox']);
/** Wrappers looked through: npm → sh → us is one; more would be unusual. */
const WRAPPERS_MAX = 4;
/** /proc/<pid>/stat fields after the command's closing parenthesis: state is 0, ppid 1, … */
const STAT_STATE = 0;
const STAT_PPID = 1;
const STAT_START_TIME = 19;

interface Launcher {
  readonly pid: number;
  /** Ticks since boot: a pid reused by another process has another start time. */
  readonly startTime: string;
}

function stat(pid: number): { state: string; ppid: number; startTime: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      state: fields[STAT_STATE] ?? '',
      ppid: Number(fields[STAT_PPID]),
      startTime: fields[STAT_START_TIME] ?? '',
    };
  } catch {
    return null;
  }
}

/** A shell that runs one command line for another program: `sh -c "…"`. */
function isCommandShell(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    return SHELLS.has(basename(argv[0] ?? '')) && argv[1] === '-c';
  } catch {
    return false;
  }
}

/** Our parent and, through `sh -c` wrappers, whoever ran them. Empty without /proc. */
function launchers(): Launcher[] {
  const found: Launcher[] = [];
  let pid = process.ppid;
  for (let depth = 0; depth <= WRAPPERS_MAX && pid > 1; depth += 1) {
    const info = stat(pid);
    if (info === null) break;
    found.push({ pid, startTime: info.startTime });
    if (!isCommandShell(pid)) break;
    pid = info.ppid;
  }
  return found;
}

/** Gone: no such process, a zombie waiting to be reaped, or another process under its pid. */
function gone(launcher: Launcher): boolean {
  const info = stat(launcher.pid);
  return (
    info === null ||
    info.state === 'Z' ||
    info.state === 'X' ||
    info.startTime !== launcher.startTime
  );
}

/**
 * Calls `onGone` once, with the pid, when a launcher is gone; polls every `intervalMs` (an
 * unref'd timer: it keeps nothing alive). Returns a function that stops watching.
 */
export function whenLauncherGoes(onGone: (pid: number) => void, intervalMs: number): () => void {
  const watched = launchers();
  const parent = process.ppid;
  const timer = setInterval(() => {
    // Re-parented (to init or a subreaper): our parent is gone, whatever /proc says.
    const missing = process.ppid !== parent ? parent : watched.find(gone)?.pid;
    if (missing === undefined) return;
    clearInterval(timer);
    onGone(missing);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
