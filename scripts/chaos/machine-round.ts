import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  leaseHolder,
  leaseTakenAfterKill,
  type Probe,
  type ProbeResult,
  probeCustomer,
  probeFailover,
} from './machine-failover.js';
import type { MachineRoundPlan } from './machine-plan.js';
import type { MachineLoss, Rehearsal } from './machine-rehearsal.js';
import {
  electedAfter,
  LEASE_STREAM,
  leadersOf,
  replicasCurrent,
  SALE_LOG_STREAM,
} from './machine-replicas.js';
import { createSale } from './retrying-client.js';
import { type BurstResult, runBurst } from './round-burst.js';

// One machine-loss round: its sale created through the gateways and placed by the pool, its burst
// sent, and once the planned number of orders has its answer, one machine lost whole (engine and
// nats-server SIGKILLed, directory deleted): the sale's owner's most rounds. The failover is
// measured meanwhile (machine-failover.ts); the round ends once the burst is over and the
// rehearsal has the machine back with a current copy of every stream.

/** A new sale is placed and its lease taken within a second; this bounds a slow machine. */
const PLACEMENT_WAIT_MS_MAX = 30_000;
const PLACEMENT_POLL_INTERVAL_MS = 100;
/** The rehearsal restarts a lost machine's processes after 0.5 s; starting them takes longer. */
const MACHINE_BACK_WAIT_MS_MAX = 60_000;
/** How long after the first order served the lease's move may still be on its way to the watch. */
const HANDOVER_GRACE_MS = 1_000;

export interface RoundContext {
  readonly rehearsal: Rehearsal;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly adminToken: string;
  readonly jwtSecret: string;
  /** Each lost machine's logs are moved under here, by round. */
  readonly keptLogsDir: string;
}

export interface MachineRoundSummary {
  readonly plan: MachineRoundPlan;
  readonly machine: number;
  readonly ownerBefore: string;
  /** Who held the lease when the round ended. */
  readonly ownerAfter: string | null;
  /** The lost node led the sale's log stream / the lease bucket's stream at the kill. */
  readonly ledSaleLog: boolean;
  readonly ledLeases: boolean;
  /** From the kill until SALE_LOG / the lease bucket had a leader again (null: not led by it). */
  readonly saleLogElectedMs: number | null;
  readonly leasesElectedMs: number | null;
  readonly probe: ProbeResult;
  /** From the kill to the lease taken by another engine (owner rounds; null if not seen). */
  readonly handoverMs: number | null;
  /** From the kill until the rehearsal had restarted both of the machine's processes. */
  readonly backMs: number;
  /** From the kill until every stream had three current replicas again (null: not by the bound). */
  readonly replicasMs: number | null;
  readonly lagging: readonly string[];
}

export interface MachineRoundResult {
  readonly summary: MachineRoundSummary;
  readonly burst: BurstResult;
  readonly probe: Probe;
}

async function placedOwner(nc: NatsConnection, saleId: string): Promise<string> {
  const deadline = performance.now() + PLACEMENT_WAIT_MS_MAX;
  while (performance.now() < deadline) {
    const holder = await leaseHolder(nc, saleId).catch(() => null);
    if (holder !== null) return holder;
    await delay(PLACEMENT_POLL_INTERVAL_MS);
  }
  throw new Error(`sale ${saleId}: no engine took its lease within ${PLACEMENT_WAIT_MS_MAX} ms`);
}

const machineOf = (engineId: string): number => Number(/^machine-(\d)$/.exec(engineId)?.[1]);

/** The machine to lose: the owner's, or one of the two others. */
function victimOf(plan: MachineRoundPlan, owner: number): number {
  if (plan.victim === 'owner') return owner;
  const others = [1, 2, 3].filter((n) => n !== owner);
  return others[plan.otherPick]!;
}

interface Strike {
  readonly loss: MachineLoss;
  readonly leaders: Record<string, string | null>;
  readonly elected: Record<string, number | null>;
  readonly probe: ProbeResult;
  readonly handoverMs: number | null;
}

async function loseAndMeasure(
  plan: MachineRoundPlan,
  context: RoundContext,
  ownerBefore: string,
  probe: Probe,
): Promise<Strike> {
  const { rehearsal, nc, jsm } = context;
  const owner = machineOf((await leaseHolder(nc, plan.saleId).catch(() => null)) ?? ownerBefore);
  const n = victimOf(plan, owner);
  const leaders = await leadersOf(jsm, [SALE_LOG_STREAM, LEASE_STREAM]);
  const keptLogs = join(context.keptLogsDir, `round-${plan.round + 1}-machine-${n}`);
  const killedPid = rehearsal.machine(owner).enginePid;
  const loss = rehearsal.loseMachine(n, keptLogs);
  let probing = true;
  // The lease is taken before the first order is served, if it moves at all (not in `other`
  // rounds); a poll in flight may see it a moment after the probe heard its answer.
  let stopAt = Number.POSITIVE_INFINITY;
  const taken = leaseTakenAfterKill(
    nc,
    plan.saleId,
    killedPid,
    () => !probing && performance.now() >= stopAt,
  ).catch(() => null);
  const elections = electionsAfter(jsm, leaders, loss);
  const result = await probeFailover(probe, plan.saleId, rehearsal.gatewayUrls, loss.killedAt);
  probing = false;
  stopAt = performance.now() + HANDOVER_GRACE_MS;
  const handed = await taken;
  return {
    loss,
    leaders,
    elected: await elections,
    probe: result,
    handoverMs: handed === null ? null : handed.at - loss.killedAt,
  };
}

/** For each stream the lost node led, the time until another node led it. */
async function electionsAfter(
  jsm: JetStreamManager,
  leaders: Record<string, string | null>,
  loss: MachineLoss,
): Promise<Record<string, number | null>> {
  const lost = `n${loss.n}`;
  const led = Object.keys(leaders).filter((stream) => leaders[stream] === lost);
  const times = await Promise.all(
    led.map((stream) => electedAfter(jsm, stream, lost, loss.killedAt)),
  );
  return Object.fromEntries(led.map((stream, i) => [stream, times[i] ?? null]));
}

export async function runMachineRound(
  plan: MachineRoundPlan,
  context: RoundContext,
): Promise<MachineRoundResult> {
  const { rehearsal, nc, jsm } = context;
  const sale = { stock: plan.stock, perCustomerLimit: plan.perCustomerLimit };
  await createSale(rehearsal.gatewayUrls, context.adminToken, plan.saleId, sale, Math.random);
  const ownerBefore = await placedOwner(nc, plan.saleId);
  const probe = probeCustomer(plan.saleId, context.jwtSecret);
  let strike: Promise<Strike> | null = null;
  const strikeOnce = () => {
    strike ??= loseAndMeasure(plan, context, ownerBefore, probe);
    // Awaited below once the burst is over; until then a failure must not count as unhandled.
    strike.catch(() => undefined);
    return strike;
  };
  const burst = await runBurst(plan.orders, rehearsal.gatewayUrls, (answered) => {
    if (answered >= plan.killAfterAnswers) void strikeOnce();
  });
  const { loss, leaders, elected, probe: probed, handoverMs } = await strikeOnce();
  const backMs = (await rehearsal.machineBack(loss, MACHINE_BACK_WAIT_MS_MAX)) - loss.killedAt;
  const replicas = await replicasCurrent(jsm, loss.killedAt);
  const lostNode = `n${loss.n}`;
  return {
    burst,
    probe,
    summary: {
      plan,
      machine: loss.n,
      ownerBefore,
      ownerAfter: await leaseHolder(nc, plan.saleId).catch(() => null),
      ledSaleLog: leaders[SALE_LOG_STREAM] === lostNode,
      ledLeases: leaders[LEASE_STREAM] === lostNode,
      saleLogElectedMs: elected[SALE_LOG_STREAM] ?? null,
      leasesElectedMs: elected[LEASE_STREAM] ?? null,
      probe: probed,
      handoverMs,
      backMs,
      replicasMs: 'ms' in replicas ? replicas.ms : null,
      lagging: 'lagging' in replicas ? replicas.lagging : [],
    },
  };
}
