import { Worker } from 'node:worker_threads';

// A deadline on this process's exit that nothing in the process can postpone. A timer on the
// event loop is not one: a leaving process whose stdout is a pipe nobody reads any more blocks
// that loop for ever in pino's exit-time flush (sonic-boom's flushSync retries a failed write
// without end; seen in the fake carrier once `npm start` was SIGKILLed), and then no timer and no
// signal handler runs again. A worker thread has a loop of its own, and SIGKILL needs no help.

// CommonJS, as an eval'd worker is; the same pid as the main thread's.
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
setTimeout(() => process.kill(process.pid, 'SIGKILL'), workerData.ms);
`;

/** SIGKILLs this process `ms` from now unless it has exited by then. */
export function exitWithin(ms: number): void {
  const watchdog = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { ms } });
  // The deadline must not be what keeps a process that is done alive.
  watchdog.unref();
}
