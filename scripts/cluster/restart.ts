import { mkdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { exitOf, natsExitOf, type StackExit, type StackLifecycle } from '../stack/lifecycle.js';
import { messageOf } from '../stack/start-errors.js';
import { type Machine, respawnEngine } from './machines.js';
import type { ClusterPlan } from './plan.js';

// What docker-compose.yml's `restart: unless-stopped` does for a machine in production: an engine
// or a nats-server that exits while the rehearsal is not stopping is started again after a short
// delay, with the same name, ports and directories. A directory deleted meanwhile is made again,
// empty: the machine comes back fresh (a node with an empty store rejoins under its server name
// and the cluster copies its streams back to it; an engine with an empty WAL starts from the
// replicated logs). Each exit and each restart is one line on the rehearsal's output.

/**
 * Docker waits 100 ms before its first restart; a little more here, so that a machine killed
 * whole (engine and node) has both gone before either comes back.
 */
export const RESTART_DELAY_MS = 500;

function say(exit: StackExit, rest: string): void {
  const how = exit.how === undefined ? '' : ` (${exit.how})`;
  console.error(`${exit.who} exited${how}: ${rest}`);
}

/** Resolves after the delay, or with false at once should the rehearsal be stopping by then. */
async function mayRestart(stack: StackLifecycle): Promise<boolean> {
  if (stack.isStopping) return false;
  await delay(RESTART_DELAY_MS);
  return !stack.isStopping;
}

/** Watches the machine's engine; each time it exits, starts another (and watches that one). */
export function keepEngine(plan: ClusterPlan, machine: Machine, stack: StackLifecycle): void {
  let restarts = 0;
  const watch = () => {
    const engine = machine.engine;
    if (engine === null) return;
    const who = `machine ${machine.plan.n}: engine (pid ${engine.pid})`;
    void exitOf(who, engine).then(async (exit) => {
      if (stack.isStopping) return;
      say(exit, `restarting it in ${RESTART_DELAY_MS} ms`);
      if (!(await mayRestart(stack))) return;
      restarts += 1;
      mkdirSync(machine.plan.walDir, { recursive: true });
      machine.engine = respawnEngine(plan, machine.plan, restarts);
      console.log(`machine ${machine.plan.n}: engine restarted, pid ${machine.engine.pid}`);
      watch();
    });
  };
  watch();
}

/** Watches the machine's nats-server; each time it exits, starts it again on the same ports. */
export function keepNode(machine: Machine, stack: StackLifecycle): void {
  const { nats, plan } = machine;
  const watch = () => {
    const who = `machine ${plan.n}: nats-server (pid ${nats.pid})`;
    void natsExitOf(who, nats).then(async (exit) => {
      if (stack.isStopping) return;
      say(exit, `restarting it in ${RESTART_DELAY_MS} ms; the others run on while a majority`);
      if (!(await mayRestart(stack))) return;
      mkdirSync(plan.natsDir, { recursive: true });
      mkdirSync(plan.logDir, { recursive: true });
      try {
        await nats.restart();
        console.log(`machine ${plan.n}: nats-server restarted, pid ${nats.pid}`);
      } catch (error) {
        // Its exit is watched below like any other: it is tried again after the delay.
        console.error(`machine ${plan.n}: nats-server restart failed: ${messageOf(error)}`);
      }
      watch();
    });
  };
  watch();
}
