import { type Logger, type LoggerOptions, pino } from 'pino';
import { EXIT_CONFIGURATION_ERROR } from './exit-codes.js';
import { exitWithin } from './exit-deadline.js';
import { announceReady, stopWhenParentGoes } from './parent-watch.js';

// How every service process boots and stops, once: its settings read and checked (a bad one
// stops it with exit 78 and a line naming the setting), its logger, its start, the ready message,
// and one graceful stop — on SIGTERM, SIGINT, or its parent gone — bounded by a deadline nothing
// in the process can postpone (exit-deadline.ts), then the log flushed and the exit.

export interface RunningService {
  /** What the ready message tells the parent (ports); null: not ready (a stop came first). */
  readonly ready: Readonly<Record<string, unknown>> | null;
  /** The graceful stop; resolves with the exit code. */
  stop(): Promise<number>;
  /** Resolves with an exit code when the service ends on its own (the engine's WAL failed). */
  readonly ended?: Promise<number>;
}

export interface ServiceDefinition<Config extends { readonly logLevel: string }> {
  /** The `service` field of every log line. */
  readonly name: string;
  loadConfig(): Config;
  /** Fields and serializers of every log line, beyond the service and pid. */
  loggerOptions?(config: Config): Pick<LoggerOptions, 'base' | 'serializers'>;
  /** Starts the service; `signal` aborts a start still under way (a stop during it). */
  start(config: Config, logger: Logger, signal: AbortSignal): Promise<RunningService>;
  /**
   * How long a graceful stop may take: past it the process logs that it did not finish and
   * exits 1, and STOP_MARGIN_MS later it is killed, whatever it is doing.
   */
  stopGraceMs(config: Config): number;
  /** The exit code and line for an error a start may end with on purpose; null: a failure. */
  refusal?(error: unknown): { readonly code: number; readonly message: string } | null;
}

/** After the grace period, for the line that says so and the log's flush; then SIGKILL. */
const STOP_MARGIN_MS = 1_000;
const EXIT_STOP_TOO_SLOW = 1;

export async function runService<Config extends { readonly logLevel: string }>(
  definition: ServiceDefinition<Config>,
): Promise<never> {
  const config = loadOrExit(definition);
  const { base, serializers } = definition.loggerOptions?.(config) ?? {};
  const logger = pino({
    level: config.logLevel,
    base: { service: definition.name, pid: process.pid, ...base },
    ...(serializers === undefined ? {} : { serializers }),
  });
  const starting = new AbortController();
  let running: RunningService | null = null;
  let stopping: Promise<never> | null = null;
  const stop = (why: string): Promise<never> => {
    stopping ??= (async () => {
      const graceMs = definition.stopGraceMs(config);
      exitWithin(graceMs + STOP_MARGIN_MS);
      setTimeout(() => {
        logger.error({ graceMs }, 'the stop outlived its grace period');
        leave(logger, EXIT_STOP_TOO_SLOW);
      }, graceMs).unref();
      logger.info({ signal: why }, 'stopping');
      starting.abort();
      return leave(logger, (await running?.stop()) ?? 0);
    })();
    return stopping;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
  stopWhenParentGoes(() => void stop('parent gone'));
  try {
    running = await definition.start(config, logger, starting.signal);
  } catch (error) {
    if (stopping !== null) return stopping;
    const refused = definition.refusal?.(error) ?? null;
    if (refused !== null) logger.fatal({ err: error }, refused.message);
    else logger.fatal({ err: error }, `${definition.name} failed to start: ${messageOf(error)}`);
    return leave(logger, refused?.code ?? 1);
  }
  if (stopping !== null) return stopping;
  if (running.ready !== null) announceReady(running.ready);
  void running.ended?.then((code) => leave(logger, code));
  return new Promise<never>(() => {});
}

function loadOrExit<Config extends { readonly logLevel: string }>(
  definition: ServiceDefinition<Config>,
): Config {
  try {
    return definition.loadConfig();
  } catch (error) {
    pino({ base: { service: definition.name, pid: process.pid } }).fatal(
      { err: error },
      `bad configuration: ${messageOf(error)}`,
    );
    process.exit(EXIT_CONFIGURATION_ERROR);
  }
}

function leave(logger: Logger, code: number): never {
  // Flush the log and leave even if a library left a timer running.
  logger.flush();
  process.exit(code);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
