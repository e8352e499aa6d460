import { exitWithin } from './exit-deadline.js';

// A service started by another process over an IPC channel (the test suite, `npm start`) talks
// to it over that channel: it says when it is ready, and it stops when that process goes, however
// it went. A test runner's timeout or a `kill -9` skips every teardown, and the service would
// otherwise run on, holding its ports, its WAL lock and a CPU share from the tests after it.
// Started any other way (a container, a terminal), nothing changes.

/**
 * How long the stop may take once the parent is gone: `npm start` promises that nothing it
 * started outlives it by 5 s. Cutting a stop short loses nothing: the engine's WAL is fsynced
 * before every ack, and the agent hands its deliveries back at once when it stops.
 */
export const PARENT_GONE_STOP_MS_MAX = 3_000;

/** What a service sends its parent once it serves, with what the parent can't know (ports). */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly [detail: string]: unknown;
}

/** Calls `stop` once the parent that holds this process's IPC channel is gone. */
export function stopWhenParentGoes(stop: () => void): void {
  const channel = process.channel;
  if (channel === undefined) return;
  // The channel alone must not keep the process alive once the service has stopped.
  channel.unref();
  const parentGone = () => {
    exitWithin(PARENT_GONE_STOP_MS_MAX);
    stop();
  };
  // A service that watches only once it listens may have missed the one 'disconnect' event.
  if (process.connected) process.once('disconnect', parentGone);
  else parentGone();
}

/**
 * Tells the parent, if there is one, that the service is ready. The parent must not learn it
 * from a log line: at LOG_LEVEL=warn there is none.
 */
export function announceReady(details: Readonly<Record<string, unknown>>): void {
  const message: ReadyMessage = { ...details, type: 'ready' };
  // With a callback, a parent gone meanwhile is an error passed to it, not an 'error' event.
  process.send?.(message, undefined, undefined, () => {});
}
