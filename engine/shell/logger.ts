import { type Logger, pino } from 'pino';

// One JSON line per event on stdout, with the service name on every line.
export function createLogger(
  service: string,
  level: string,
  fields: Record<string, string> = {},
): Logger {
  return pino({ level, base: { service, pid: process.pid, ...fields } });
}
