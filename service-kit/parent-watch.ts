// A service started by another process over an IPC channel (the test suite, `npm start`) stops
// when that process goes, however it went: a test runner's timeout or a `kill -9` skips every
// teardown, and the service would otherwise run on, holding its ports, its WAL lock and a CPU
// share from the tests after it. Started any other way (a container, a terminal), nothing changes.

/**
 * How long the graceful stop may take once the parent is gone, past every service's own grace
 * period (the agent's is 20 s): its stdout went with the parent, and a stop that blocks on
 * logging to it (seen with the fake carrier) must not keep the process alive.
 */
export const PARENT_GONE_STOP_MS_MAX = 25_000;
const EXIT_PARENT_GONE = 1;

/** Calls `stop` once the parent that holds this process's IPC channel is gone. */
export function stopWhenParentGoes(stop: () => void): void {
  const channel = process.channel;
  if (channel === undefined) return;
  // The channel alone must not keep the process alive once the service has stopped.
  channel.unref();
  process.once('disconnect', () => {
    setTimeout(() => process.exit(EXIT_PARENT_GONE), PARENT_GONE_STOP_MS_MAX);
    stop();
  });
}
