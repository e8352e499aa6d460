import { spawnSync } from 'node:child_process';
import { setPriority } from 'node:os';
import type { ServiceProcess } from './service-process.js';
import { messageOf } from './start-errors.js';

// On one machine, shipping waits for the buyers. The agent and the carrier run under Linux's
// SCHED_IDLE policy: they get a core only when no gateway, engine or NATS wants it, so in a burst
// the order path has the machine, and shipments — asynchronous by design — catch up once the
// burst is over (in production they run on machines of their own). A nice value is not enough:
// at nice 10 the agent still took ~480 µs of CPU per order during a burst on 2 cores, the
// carrier ~130 µs, and durable orders through `npm start` ran at a tenth of the stack's rate.
// Where SCHED_IDLE can't be had (no `chrt`), the lowest nice value is the fallback.

const CHRT = 'chrt';
/** The fallback: the lowest priority a nice value gives. */
const SHIPPING_NICENESS = 19;

export function yieldToOrders(service: ServiceProcess): void {
  const pid = service.pid;
  if (pid === undefined) return;
  // --all-tasks: every thread of it (libuv's pool too), not only the main one.
  const idle = spawnSync(CHRT, ['--all-tasks', '--idle', '--pid', '0', String(pid)], {
    stdio: 'ignore',
  });
  if (idle.status === 0) return;
  try {
    setPriority(pid, SHIPPING_NICENESS);
  } catch (error) {
    console.error(`could not lower the priority of ${service.main}: ${messageOf(error)}`);
  }
}
