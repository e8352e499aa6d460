import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { whenAborted } from '../cli/when-aborted.js';
import { EngineClient } from '../client/engine-client.js';
import { seededRandom } from '../client/seeded-random.js';
import { mintToken } from '../client/tokens.js';
import { type ChaosNats, connectChaosNats } from './nats-link.js';
import { EngineReads } from './retrying-reads.js';
import type { Acknowledged } from './round-burst.js';
import { planRounds, type RoundPlan } from './round-plan.js';
import { type Settled, waitForShipping } from './shipping-settle.js';
import { type AuditResult, auditStackChaos } from './stack-audit.js';
import { type RoundSummary, roundLine, runRound } from './stack-round.js';
import { CHAOS_TARGETS, type ChaosTarget, VictimStack } from './victim-stack.js';

// Full-stack chaos: a whole stack of real processes (NATS, engine, two gateways, a shipping agent,
// a flaky fake carrier); each round opens a sale, sends a burst of orders through the gateways
// like real clients (Idempotency-Key, retries on the other gateway), and SIGKILLs one process at
// a chosen point of the burst, then restarts it on the same WAL, store or port. After the last
// round it waits for shipping to settle and audits (stack-audit.ts). A round: stack-round.ts.

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
    const stack = await VictimStack.start({ dir, sales: plans.map((p) => p.saleId), jwtSecret });
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

/** What the rounds' bursts add up to, for the settle wait and the audit. */
interface Bursts {
  readonly rounds: RoundSummary[];
  readonly acknowledged: Acknowledged[];
  readonly answerBreaches: string[];
  readonly replayBreaches: string[];
  readonly gaveUp: string[];
  readonly unknownUnits: Map<string, ReadonlyMap<string, number>>;
  replaysChecked: number;
}

async function runRounds(
  options: StackChaosOptions,
  plans: readonly RoundPlan[],
  stack: VictimStack,
  adminToken: string,
  log: (line: string) => void,
): Promise<StackChaosReport> {
  const bursts = await playRounds(options, plans, stack, adminToken, log);
  const link = await connectChaosNats(stack.natsUrl);
  try {
    const { settle, audit } = await settleAndAudit(options, plans, stack, link, bursts, log);
    const kills = Object.fromEntries(
      CHAOS_TARGETS.map((t) => [t, bursts.rounds.filter((r) => r.victim === t).length]),
    ) as Record<ChaosTarget, number>;
    return {
      seed: options.seed,
      rounds: bursts.rounds,
      kills,
      requests: requestsOf(plans),
      acknowledged: bursts.acknowledged.length,
      settle,
      audit,
      breaches: audit.breaches,
      gaveUpSample: bursts.gaveUp.slice(0, GAVE_UP_SAMPLE_MAX),
    };
  } finally {
    await link.nc.close();
  }
}

const requestsOf = (plans: readonly RoundPlan[]): number =>
  plans.reduce((sum, p) => sum + p.orders.length, 0);

/** Every round in turn, a line each; their bursts added up. */
async function playRounds(
  options: StackChaosOptions,
  plans: readonly RoundPlan[],
  stack: VictimStack,
  adminToken: string,
  log: (line: string) => void,
): Promise<Bursts> {
  const sale = { stock: options.stockPerSale, perCustomerLimit: options.perCustomerLimit };
  const bursts: Bursts = {
    rounds: [],
    acknowledged: [],
    answerBreaches: [],
    replayBreaches: [],
    gaveUp: [],
    unknownUnits: new Map(),
    replaysChecked: 0,
  };
  for (const plan of plans) {
    const { summary, burst } = await runRound(plan, sale, stack, adminToken);
    const inRound = (breach: string) => `round ${plan.round}: ${breach}`;
    bursts.rounds.push(summary);
    bursts.acknowledged.push(...burst.acknowledged);
    bursts.gaveUp.push(...burst.gaveUp);
    bursts.unknownUnits.set(plan.saleId, burst.unknownUnits);
    bursts.replaysChecked += burst.replaysChecked;
    bursts.answerBreaches.push(...burst.answerBreaches.map(inRound));
    bursts.replayBreaches.push(...burst.replayBreaches.map(inRound));
    log(roundLine(summary, plans.length, bursts.acknowledged.length));
  }
  return bursts;
}

/** The wait for shipping to settle, then the audit of everything the rounds did. */
async function settleAndAudit(
  options: StackChaosOptions,
  plans: readonly RoundPlan[],
  stack: VictimStack,
  link: ChaosNats,
  bursts: Bursts,
  log: (line: string) => void,
): Promise<{ settle: Settled; audit: AuditResult }> {
  const sales = plans.map((plan) => ({
    saleId: plan.saleId,
    customers: plan.customers,
    stock: options.stockPerSale,
    perCustomerLimit: options.perCustomerLimit,
    unknownUnits: bursts.unknownUnits.get(plan.saleId) ?? new Map<string, number>(),
  }));
  const client = new EngineReads(new EngineClient(link.nc, ENGINE_READ_TIMEOUT_MS), link);
  const settleTimeoutMs = options.settleTimeoutMs ?? SETTLE_TIMEOUT_MS_DEFAULT;
  log(`waiting for shipping to settle (at most ${settleTimeoutMs} ms)`);
  const settle = await waitForShipping(link.nc, client, sales, settleTimeoutMs);
  const tokens = new Map(plans.flatMap((p) => p.orders.map((o) => [o.customerId, o.token])));
  const audit = await auditStackChaos({
    link,
    client,
    carrierStats: () => stack.carrier.stats(),
    gatewayUrls: stack.gatewayUrls,
    sales,
    acknowledged: bursts.acknowledged,
    tokenOf: (customerId) => tokens.get(customerId)!,
    settled: settle,
    answerBreaches: bursts.answerBreaches,
    answers: requestsOf(plans),
    replayBreaches: bursts.replayBreaches,
    replaysChecked: bursts.replaysChecked,
    crashes: stack.crashes,
    processesWatched: CHAOS_TARGETS.length,
  });
  return { settle, audit };
}
