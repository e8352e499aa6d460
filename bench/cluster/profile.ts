import { availableParallelism } from 'node:os';
import { LOAD_GENERATOR } from '../compare/cpu-usage.js';
import { ALL_ROUNDS, roundLabel } from './all-rounds.js';
import {
  cpuPerOrderUs,
  durableOf,
  FIRST_ORDER_MS_GOAL,
  RATE_RATIO_GOAL,
  ratioOf,
} from './report.js';
import type { StackRun } from './stack-run.js';

// Where each stack's CPU went, per durable order, process by process and role by role: on the
// rehearsal, three nats-servers replicating each batch against npm start's one, the owner engine
// (its replicated append per group commit) against the standbys (following the log), and so on.
// Then the goals.

const us = (n: number): string => `${Math.round(n)} µs`;

/** `engine machine-2` → `engine machine-2 (owner)`, with the rehearsal's roles of the sale. */
function labelOf(row: StackRun, group: string): string {
  const owner = row.cluster?.owner;
  const leader = row.cluster?.saleLogLeader;
  if (owner !== null && owner !== undefined && group === `engine ${owner}`)
    return `${group} (owner)`;
  if (leader !== null && leader !== undefined && group === `nats-server ${leader}`)
    return `${group} (SALE_LOG leader)`;
  return group;
}

function roleLine(row: StackRun, role: string): string {
  const groups = [...row.roles].filter(([, r]) => r === role).map(([name]) => name);
  const total = groups.reduce((sum, group) => sum + cpuPerOrderUs(row, group), 0);
  if (groups.length < 2) return `${role} ${us(total)}`;
  const each = groups.map((group) => `${labelOf(row, group)} ${us(cpuPerOrderUs(row, group))}`);
  return `${groups.length} ${role}s ${us(total)} (${each.join(', ')})`;
}

/**
 * The share of all cores that processes neither of the stack nor of the generator took during the
 * window: other people's work on this shared machine, the noise behind a round that stands out.
 */
function othersShare(row: StackRun): number {
  const { cpu, windowMs } = row.run;
  const machineMs = windowMs * availableParallelism();
  if (machineMs <= 0) return 0;
  const generatorMs = cpu.byGroup.get(LOAD_GENERATOR.name) ?? 0;
  return Math.max(0, cpu.machineBusyShare - (cpu.serverMs + generatorMs) / machineMs);
}

/** Its idle cost, and messages appended to each stream per order (whole row, once ORDERS caught up). */
function printRowDetails(row: StackRun): void {
  if (row.idleCores !== null) {
    const idle = Math.round(row.idleCores * 100);
    console.log(`    idle before its load, the whole stack took ${idle}% of a core`);
  }
  if (row.appendsPerOrder.length === 0) return;
  const each = row.appendsPerOrder.map(([stream, n]) => `${stream} ${n.toFixed(2)}`);
  console.log(`    JetStream messages appended per order: ${each.join(', ')}`);
}

export function printProfile(rows: readonly StackRun[]): void {
  console.log(
    '\nserver CPU per durable order, by role (user + system from /proc, measured window):',
  );
  for (const row of rows) {
    const roles = [...new Set(row.roles.values())];
    const busy = Math.round(row.run.cpu.machineBusyShare * 100);
    const others = Math.round(othersShare(row) * 100);
    const generator = us(cpuPerOrderUs(row, LOAD_GENERATOR.name));
    const commits =
      row.ordersPerCommit === null
        ? ''
        : `; ${row.ordersPerCommit.toFixed(1)} orders a group commit`;
    console.log(
      `  ${row.stack}, ${roundLabel(row)}: ${us(cpuPerOrderUs(row))} = ` +
        `${roles.map((role) => roleLine(row, role)).join(', ')}; all cores ${busy}% busy, ${others}% of them by other work; load generator ${generator} (not summed)${commits}`,
    );
    printRowDetails(row);
  }
}

export function printGoals(rows: readonly StackRun[]): void {
  console.log('\ngoals from the issue:');
  for (const row of rows.filter((r) => r.stack === 'rehearsal')) {
    const ratio = ratioOf(rows, row) ?? 0;
    const met = ratio >= RATE_RATIO_GOAL && durableOf(row) > 0;
    console.log(
      `  ${met ? 'met   ' : 'MISSED'} ${roundLabel(row)}: the rehearsal's durable orders/s ` +
        `${ratio.toFixed(2)}x npm start's, goal ≥ ${RATE_RATIO_GOAL}x`,
    );
  }
  for (const stack of ['npm start', 'rehearsal'] as const) {
    const sales = rows
      .filter((r) => r.stack === stack && r.round !== ALL_ROUNDS)
      .flatMap((r) => r.firstOrders);
    const slowest = Math.max(...sales.map((sale) => sale.ms ?? Number.POSITIVE_INFINITY));
    const met = slowest <= FIRST_ORDER_MS_GOAL;
    console.log(
      `  ${met ? 'met   ' : 'MISSED'} ${stack}: every new sale (${sales.length}) took its first ` +
        `order within ${Math.round(slowest)} ms of its 201, goal ≤ ${FIRST_ORDER_MS_GOAL} ms`,
    );
  }
}

/** Every new sale's time to its first order, and what the orders before it were told. */
export function printFirstOrders(rows: readonly StackRun[]): void {
  console.log(
    '\nnew sales, from the PUT’s 201 to the first 201 of an order through the other gateway:',
  );
  for (const row of rows) {
    const refusals = new Map<string, number>();
    for (const sale of row.firstOrders)
      for (const [code, n] of Object.entries(sale.refusals))
        refusals.set(code, (refusals.get(code) ?? 0) + n);
    const times = row.firstOrders.map((sale) =>
      sale.ms === null ? 'never' : `${Math.round(sale.ms)} ms`,
    );
    const refused = [...refusals].map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
    console.log(
      `  ${row.stack}, round ${row.round}: ${times.join(', ')}; refused on the way: ${refused}`,
    );
  }
}
