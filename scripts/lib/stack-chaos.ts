import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type Acknowledged, type BurstResult, runBurst } from './chaos-burst.js';
import { createSale } from './chaos-client.js';
import { EngineReads } from './chaos-holdings.js';
import { connectChaosNats } from './chaos-nats.js';
import { planRounds, type RoundPlan } from './chaos-plan.js';
import { seededRandom } from './chaos-random.js';
import { type Settled, waitForShipping } from './chaos-settle.js';
import { CHAOS_TARGETS, ChaosStack, type ChaosTarget } from './chaos-stack.js';
import { EngineClient } from './engine-client.js';
import { type AuditResult, auditStackChaos } from './stack-chaos-audit.js';
import { mintToken } from './tokens.js';
import { whenAborted } from './when-aborted.js';

// Full-stack chaos: a whole stack of real processes (NATS, engine, two gateways, a shipping agent,
// a flaky fake carrier); each round opens a sale, sends a burst of orders through the gateways
// like real clients (Idempotency-Key, retries on the other gateway), and SIGKILLs one process at
// a chosen point of the burst, then restarts it on the same WAL, store or port. After the last
// round it waits for shipping to settle and audits (stack-chaos-audit.ts).

/** Engine reads of the audit: the stack is whole again by then, so a slow answer is a finding. */
const ENGINE_READ_TIMEOUT_MS = 5_000;
/** How long shipping may take to settle after the last round before the audit counts stragglers. */
export const SETTLE_TIMEOUT_MS_DEFAULT = 60_000;
const GATEWAY_COUNT = 2;
const ADMIN_TOKEN_TTL_S = 3_600;

export interface StackChaosOptions {
  readonly rounds: number;
  readonly seed: number;
  readonly customersPerRound: number;
  /** Each round has a sale of its own with this stock and per-customer cap. */
  readonly stockPerSale: number;
  readonly perCustomerLimit: number;
  readonly settleTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Aborting ends the run at once: the stack is stopped and the run rejects. */
  readonly signal?: AbortSignal;
}

export interface RoundSummary {
  readonly round: number;
  readonly saleId: string;
  readonly victim: ChaosTarget;
  readonly carrierOutageMs: number;
  readonly orders: number;
  readonly killAfterAnswers: number;
  /** From the SIGKILL until the restarted process served again. */
  readonly outageMs: number;
  readonly acknowledged: number;
  /** Acknowledged with 200 on a retry: an earlier attempt was accepted, its answer lost. */
  readonly recoveredByReplay: number;
  readonly refused: number;
  readonly gaveUp: number;
  readonly retried: number;
  /** Processes found dead on their own after the round (restarted). */
  readonly revived: readonly ChaosTarget[];
}

export interface StackChaosReport {
  readonly seed: number;
  readonly rounds: readonly RoundSummary[];
  readonly kills: Readonly<Record<ChaosTarget, number>>;
  readonly requests: number;
  readonly acknowledged: number;
  readonly settle: Settled;
  readonly audit: AuditResult;
  readonly breaches: readonly string[];
  /** A sample of the orders whose clients gave up (the outcome they never heard). */
  readonly gaveUpSample: readonly string[];
}

const GAVE_UP_SAMPLE_MAX = 10;

export async function runStackChaos(options: StackChaosOptions): Promise<StackChaosReport> {
  const log = options.log ?? (() => undefined);
  const jwtSecret = randomBytes(24).toString('hex');
  const plans = planRounds(
    {
      rounds: options.rounds,
      customersPerRound: options.customersPerRound,
      gateways: GATEWAY_COUNT,
      jwtSecret,
    },
    seededRandom(options.seed),
  );
  const adminToken = mintToken(jwtSecret, {
    sub: 'chaos-ops',
    role: 'admin',
    ttlS: ADMIN_TOKEN_TTL_S,
  });
  const dir = await mkdtemp(join(tmpdir(), 'chaos-stack-'));
  try {
    const stack = await ChaosStack.start({ dir, sales: plans.map((p) => p.saleId), jwtSecret });
    const stop = whenAborted(options.signal, 'chaos run aborted');
    try {
      // Rounds left running after an abort only meet a stopped stack; the caller exits anyway.
      return await Promise.race([runRounds(options, plans, stack, adminToken, log), stop.aborted]);
    } finally {
      stop.dispose();
      await stack.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface RoundResult {
  readonly summary: RoundSummary;
  readonly burst: BurstResult;
}

async function runRound(
  plan: RoundPlan,
  options: StackChaosOptions,
  stack: ChaosStack,
  adminToken: string,
): Promise<RoundResult> {
  // Through the gateways and the engine: also the sign that the stack serves again.
  await createSale(
    stack.gatewayUrls,
    adminToken,
    plan.saleId,
    { stock: options.stockPerSale, perCustomerLimit: options.perCustomerLimit },
    Math.random,
  );
  let chaos: Promise<number> | null = null;
  const strike = (): Promise<number> => {
    if (chaos === null) {
      chaos = killAndRestart(stack, plan);
      // Awaited below once the burst is over; until then a failure must not count as unhandled.
      chaos.catch(() => undefined);
    }
    return chaos;
  };
  const burst = await runBurst(plan.orders, stack.gatewayUrls, (answered) => {
    if (answered >= plan.killAfterAnswers) void strike();
  });
  const outageMs = await strike();
  const revived = await stack.reviveCrashed();
  return {
    burst,
    summary: {
      round: plan.round,
      saleId: plan.saleId,
      victim: plan.victim,
      carrierOutageMs: plan.carrierOutageMs,
      orders: plan.orders.length,
      killAfterAnswers: plan.killAfterAnswers,
      outageMs,
      acknowledged: burst.acknowledged.length,
      recoveredByReplay: burst.acknowledged.filter((a) => a.status === 200).length,
      refused: burst.refused,
      gaveUp: burst.gaveUp.length,
      retried: burst.retried,
      revived,
    },
  };
}

async function runRounds(
  options: StackChaosOptions,
  plans: readonly RoundPlan[],
  stack: ChaosStack,
  adminToken: string,
  log: (line: string) => void,
): Promise<StackChaosReport> {
  const link = await connectChaosNats(stack.natsUrl);
  try {
    const rounds: RoundSummary[] = [];
    const acknowledged: Acknowledged[] = [];
    const answerBreaches: string[] = [];
    const replayBreaches: string[] = [];
    const gaveUp: string[] = [];
    let replaysChecked = 0;
    for (const plan of plans) {
      const { summary, burst } = await runRound(plan, options, stack, adminToken);
      rounds.push(summary);
      acknowledged.push(...burst.acknowledged);
      gaveUp.push(...burst.gaveUp);
      replaysChecked += burst.replaysChecked;
      answerBreaches.push(...burst.answerBreaches.map((b) => `round ${plan.round}: ${b}`));
      replayBreaches.push(...burst.replayBreaches.map((b) => `round ${plan.round}: ${b}`));
      log(roundLine(summary, plans.length, acknowledged.length));
    }

    const sales = plans.map((plan) => ({
      saleId: plan.saleId,
      customers: plan.customers,
      stock: options.stockPerSale,
      perCustomerLimit: options.perCustomerLimit,
    }));
    const client = new EngineReads(new EngineClient(link.nc, ENGINE_READ_TIMEOUT_MS), link);
    const settleTimeoutMs = options.settleTimeoutMs ?? SETTLE_TIMEOUT_MS_DEFAULT;
    log(`waiting for shipping to settle (at most ${settleTimeoutMs} ms)`);
    const settle = await waitForShipping(link.nc, client, sales, settleTimeoutMs);
    const tokens = new Map(plans.flatMap((p) => p.orders.map((o) => [o.customerId, o.token])));
    const requests = plans.reduce((sum, p) => sum + p.orders.length, 0);
    const audit = await auditStackChaos({
      link,
      client,
      carrierStats: () => stack.carrier.stats(),
      gatewayUrls: stack.gatewayUrls,
      sales,
      acknowledged,
      tokenOf: (customerId) => tokens.get(customerId)!,
      settled: settle,
      answerBreaches,
      answers: requests,
      replayBreaches,
      replaysChecked,
      crashes: stack.crashes,
      processesWatched: CHAOS_TARGETS.length,
    });
    const kills = Object.fromEntries(
      CHAOS_TARGETS.map((t) => [t, rounds.filter((r) => r.victim === t).length]),
    ) as Record<ChaosTarget, number>;
    return {
      seed: options.seed,
      rounds,
      kills,
      requests,
      acknowledged: acknowledged.length,
      settle,
      audit,
      breaches: audit.breaches,
      gaveUpSample: gaveUp.slice(0, GAVE_UP_SAMPLE_MAX),
    };
  } finally {
    await link.nc.close();
  }
}

/** SIGKILL, a planned downtime, restart; answers the whole outage in ms. */
async function killAndRestart(stack: ChaosStack, plan: RoundPlan): Promise<number> {
  const killedAt = performance.now();
  // The carrier ends its outage by itself; shipping goes on meanwhile (or gives up, visibly).
  if (plan.carrierOutageMs > 0) await stack.carrier.startOutage(plan.carrierOutageMs);
  await stack.kill(plan.victim);
  await delay(plan.downtimeMs);
  await stack.restart(plan.victim);
  return performance.now() - killedAt;
}

function roundLine(summary: RoundSummary, rounds: number, acknowledgedSoFar: number): string {
  const revived =
    summary.revived.length === 0 ? '' : `; FOUND DEAD and restarted: ${summary.revived.join(', ')}`;
  return (
    `round ${summary.round + 1}/${rounds}: killed ${summary.victim} after ` +
    `${summary.killAfterAnswers}/${summary.orders} answers, back in ${Math.round(summary.outageMs)} ms` +
    (summary.carrierOutageMs > 0 ? `, carrier down ${summary.carrierOutageMs} ms` : '') +
    '; ' +
    `${summary.acknowledged} acknowledged (${summary.recoveredByReplay} via replay), ` +
    `${summary.refused} refused, ${summary.gaveUp} gave up, ${summary.retried} retried; ` +
    `${acknowledgedSoFar} acknowledged so far${revived}`
  );
}
