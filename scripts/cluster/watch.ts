import { exitOf, type StackExit, type StackLifecycle } from '../stack/lifecycle.js';
import type { ServiceProcess } from '../stack/service-process.js';
import type { Machine } from './machines.js';
import type { ClusterPlan } from './plan.js';
import { keepEngine, keepNode } from './restart.js';

// What the rehearsal does when one of its processes dies. Unlike `npm start`, it runs on: losing a
// machine (its engine, its NATS node) or a gateway is what the rehearsal is for, and the failover
// tests and chaos runs kill them on purpose. A machine's engine and nats-server are started again
// as production's `restart: unless-stopped` does (restart.ts); the gateways are not, and once no
// gateway is left nothing can take an order any more, so the rest is stopped. Each exit is said
// in one line.

const EXIT_FAILED = 1;

export interface WatchedProcesses {
  readonly machines: readonly Machine[];
  readonly gateways: readonly ServiceProcess[];
  readonly others: readonly { readonly who: string; readonly process: ServiceProcess }[];
}

function say(exit: StackExit, rest: string): void {
  const how = exit.how === undefined ? '' : ` (${exit.how})`;
  console.error(`${exit.who} exited${how}: ${rest}`);
}

/** Counts down a group; once none of it is left, stops the stack saying why. */
function lastOfGroup(count: number, what: string, stack: StackLifecycle) {
  let left = count;
  return (exit: StackExit) => {
    left -= 1;
    if (left > 0) return say(exit, `${left} ${what} left, the rest runs on`);
    say(exit, `no ${what} left: stopping the rest`);
    void stack.stopAndExit(EXIT_FAILED);
  };
}

export function watchCluster(
  plan: ClusterPlan,
  processes: WatchedProcesses,
  stack: StackLifecycle,
): void {
  const { machines, gateways, others } = processes;
  const gatewayGone = lastOfGroup(gateways.length, 'gateway(s)', stack);
  const onExit = (exit: Promise<StackExit>, then: (exit: StackExit) => void) =>
    void exit.then((seen) => {
      if (!stack.isStopping) then(seen);
    });
  for (const machine of machines) {
    keepEngine(plan, machine, stack);
    keepNode(machine, stack);
  }
  gateways.forEach((gateway, i) => void onExit(exitOf(`gateway ${i + 1}`, gateway), gatewayGone));
  for (const { who, process } of others)
    onExit(exitOf(who, process), (exit) => say(exit, 'the rest runs on without it'));
}
