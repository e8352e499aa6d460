import { basename } from 'node:path';
import type { ProcessGroup } from '../compare/cpu-usage.js';
import { descendantsOf, type ProcessInfo } from '../process-tree.js';

// Every process of a stack as a CPU group of its own, found once it is ready among the
// descendants of the process that started it (npm start's dev-stack.js, the rehearsal's
// cluster.js), named by what it is: its role from its command line, and which one (a machine,
// a gateway's number) from the pids the stack printed. Every group is the server's: the cost
// goal sums all of a stack's processes, the agent and the carrier included, since they share
// the same two cores with the order path.

export interface StackGroup extends ProcessGroup {
  /** nats-server, engine, gateway, shipping agent, fake carrier, launcher. */
  readonly role: string;
}

const ROLES: readonly { readonly role: string; readonly is: (p: ProcessInfo) => boolean }[] = [
  { role: 'nats-server', is: (p) => basename(p.commandLine.split(' ')[0] ?? '') === 'nats-server' },
  { role: 'engine', is: (p) => p.commandLine.includes('/engine/main.js') },
  { role: 'gateway', is: (p) => p.commandLine.includes('/gateway/main.js') },
  { role: 'shipping agent', is: (p) => p.commandLine.includes('/shipping-agent/main.js') },
  { role: 'fake carrier', is: (p) => p.commandLine.includes('/fake-carrier/main.js') },
];
/** The stack's own node and any keeper: they serve no request, but they are the stack's. */
const LAUNCHER = 'launcher';

const roleOf = (p: ProcessInfo): string => ROLES.find((r) => r.is(p))?.role ?? LAUNCHER;

/**
 * One group per process (the launcher's processes together), named `<role>` or `<role> <which>`
 * when the stack printed which one that pid is (`names`: pid → which).
 */
export function stackGroups(root: number, names: ReadonlyMap<number, string>): StackGroup[] {
  const byName = new Map<string, { role: string; pids: number[] }>();
  byName.set(LAUNCHER, { role: LAUNCHER, pids: [root] });
  for (const p of descendantsOf(root)) {
    const role = roleOf(p);
    const which = role === LAUNCHER ? undefined : names.get(p.pid);
    const name = which === undefined ? role : `${role} ${which}`;
    const group = byName.get(name) ?? { role, pids: [] };
    group.pids.push(p.pid);
    byName.set(name, group);
  }
  return [...byName]
    .map(([name, { role, pids }]) => ({ name, role, server: true, pids: () => pids }))
    .sort((a, b) => rank(a.role) - rank(b.role) || a.name.localeCompare(b.name));
}

const rank = (role: string): number => {
  const index = ROLES.findIndex((r) => r.role === role);
  return index === -1 ? ROLES.length : index;
};
