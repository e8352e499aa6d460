import { setTimeout as delay } from 'node:timers/promises';
import { cpuBetween, type ProcessGroup, readCpu } from '../compare/cpu-usage.js';

// What a stack costs doing nothing: the CPU of all its processes over a few idle seconds before
// its load (heartbeats, lease renewals, Raft, the standbys' consumers, the agent's pulls). On the
// loaded row this fixed cost is spread over the orders of the window: the fewer a second, the more
// each pays, so it is the part of the CPU per order that grows when another's work slows the row.

/** Long enough for a few lease renewals and heartbeats; short beside the row. */
export const IDLE_SAMPLE_MS = 3_000;

/** Share of one core the stack's processes used, on average, over IDLE_SAMPLE_MS of no load. */
export async function idleCoreShare(processes: readonly ProcessGroup[]): Promise<number> {
  const before = readCpu(processes);
  await delay(IDLE_SAMPLE_MS);
  return cpuBetween(before, readCpu(processes)).serverMs / IDLE_SAMPLE_MS;
}
