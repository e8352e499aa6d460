import { type ParseArgsConfig, parseArgs } from 'node:util';

// The command line of the tools (token, chaos:engine, replay-dead-letters; burst, whose options
// need more than readCommandLine, shares the pieces): --help prints the usage and exits 0; a bad
// argument prints what is wrong and the usage on stderr and exits 64 (EX_USAGE, sysexits.h),
// never a stack trace; a run that could not happen (NATS does not answer) says so in one line.

export const EXIT_OK = 0;
/** The run could not happen (NATS unreachable, nats-server missing): as `burst` exits. */
export const EXIT_NOT_RUN = 2;
export const EXIT_USAGE = 64;
/** The shell's convention for a process ended by a signal: 128 + the signal's number. */
export const EXIT_ON_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

/** A bad command line, in words for its user. */
export class UsageError extends Error {}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

type Values<T extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ options: T; args: string[]; strict: true; allowPositionals: false }>
>['values'];

export const wantsHelp = (args: readonly string[]): boolean =>
  args.includes('--help') || args.includes('-h');

/**
 * The tool's settings as `read` makes them from its options, or the process ends: with the usage
 * on stdout and 0 for --help, with the problem and the usage on stderr and 64 for a bad argument
 * (parseArgs's own complaints, an unknown option, a missing value, or a UsageError from `read`).
 */
export function readCommandLine<T extends OptionsConfig, R>(
  usage: string,
  options: T,
  read: (values: Values<T>) => R,
  args: readonly string[] = process.argv.slice(2),
): R {
  if (wantsHelp(args)) {
    console.log(usage);
    process.exit(EXIT_OK);
  }
  try {
    const { values } = parseArgs({
      options,
      args: [...args],
      strict: true,
      allowPositionals: false,
    });
    return read(values as Values<T>);
  } catch (error) {
    // parseArgs's TypeErrors carry an ERR_PARSE_ARGS_* code; anything else is a bug, not usage.
    const code = (error as { code?: unknown }).code;
    const isUsage =
      error instanceof UsageError ||
      (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    if (!isUsage) throw error;
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(EXIT_USAGE);
  }
}

/** `text` as a whole number ≥ `min`, `fallback` when the option was not given. */
export function wholeNumber(
  name: string,
  text: string | undefined,
  min: number,
  fallback: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${name} takes a whole number ≥ ${min}, not ${JSON.stringify(text)}`);
  return value;
}

/** A whole number of seconds on the command line, in ms (`--seconds 10` → 10,000). */
export function wholeSecondsMs(
  name: string,
  text: string | undefined,
  minS: number,
  fallbackMs: number,
): number {
  return wholeNumber(name, text, minS, fallbackMs / 1_000) * 1_000;
}

/** An error in one line: its message and, when it has one, its cause's (ECONNREFUSED …). */
export function oneLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const detail =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : null;
  const text = detail === null ? error.message : `${error.message} (${detail})`;
  return text.replace(/\s*\n\s*/g, ' ');
}
