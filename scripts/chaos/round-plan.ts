import { type Random, randomInt, shuffled } from '../client/seeded-random.js';
import { mintToken } from '../client/tokens.js';
import type { OrderIntent } from './retrying-client.js';
import { CHAOS_TARGETS, type ChaosTarget } from './victim-stack.js';

// What each chaos round does, decided up front from the seed: the sale, who presses "buy" how
// many times for how many units, which process dies after how many answers, for how long, and
// whether the carrier goes down too. Drawn
// before anything runs, so concurrent requests can't change the draws and a seed repeats a plan.

/** Each customer presses "buy" 1..this many times at once (distinct Idempotency-Keys). */
const PRESSES_PER_CUSTOMER_MAX = 3;
/** Each press asks for 1..this many units. */
const UNITS_PER_ORDER_MAX = 2;
/** Share of acknowledged orders the client sends once more (same key): it must get 200, same id. */
const REPLAY_CHECK_SHARE = 0.15;
/** The killed process stays down a random time up to this before it is restarted. */
const DOWNTIME_MS_MAX = 300;
/**
 * A carrier outage long enough for deliveries caught in it to use up their redeliveries (the
 * agent runs with a short schedule and SHIPPING_MAX_DELIVER 5): those orders must end visibly
 * dead-lettered, the others shipped once.
 */
const CARRIER_OUTAGE_MS = 3_000;
/** Customer tokens outlive any run. */
const TOKEN_TTL_S = 3_600;

export interface PlannedOrder extends OrderIntent {
  /** Index of the gateway the client tries first (it moves on to the next on a failure). */
  readonly firstGateway: number;
  readonly checkReplay: boolean;
}

export interface RoundPlan {
  readonly round: number;
  readonly saleId: string;
  readonly customers: readonly string[];
  readonly orders: readonly PlannedOrder[];
  readonly victim: ChaosTarget;
  /** The victim is killed once this many orders have their final answer (0: at the start). */
  readonly killAfterAnswers: number;
  readonly downtimeMs: number;
  /** The carrier goes down for this long at the kill (0: it stays up). */
  readonly carrierOutageMs: number;
}

export interface PlanSettings {
  readonly rounds: number;
  readonly customersPerRound: number;
  readonly gateways: number;
  readonly jwtSecret: string;
}

export const saleOfRound = (round: number): string => `chaos-r${round}`;

/**
 * Each customer's presses of "buy" (1..PRESSES_PER_CUSTOMER_MAX, each for 1..UNITS_PER_ORDER_MAX
 * units), drawn customer by customer and then shuffled: a seed gives the same orders. Shared by
 * the process-kill rounds here and the machine-loss rounds (machine-plan.ts).
 */
export function plannedOrders(
  sale: { saleId: string; gateways: number; jwtSecret: string; tokenTtlS: number },
  customers: readonly string[],
  random: Random,
): PlannedOrder[] {
  const { saleId, gateways, jwtSecret, tokenTtlS } = sale;
  const orders: PlannedOrder[] = [];
  for (const customerId of customers) {
    const token = mintToken(jwtSecret, { sub: customerId, ttlS: tokenTtlS });
    const presses = randomInt(random, 1, PRESSES_PER_CUSTOMER_MAX);
    for (let press = 0; press < presses; press += 1)
      orders.push({
        saleId,
        customerId,
        token,
        quantity: randomInt(random, 1, UNITS_PER_ORDER_MAX),
        key: `${customerId}-k${press}`,
        firstGateway: randomInt(random, 0, gateways - 1),
        checkReplay: random() < REPLAY_CHECK_SHARE,
      });
  }
  return shuffled(orders, random);
}

/**
 * Victims come in shuffled cycles of every target, so each process dies as often as the others
 * and a short run (one cycle) kills each of them once, in a random order.
 */
export function planVictims(rounds: number, random: Random): ChaosTarget[] {
  const victims: ChaosTarget[] = [];
  while (victims.length < rounds) victims.push(...shuffled(CHAOS_TARGETS, random));
  return victims.slice(0, rounds);
}

/** One round per cycle of victims (at a random place in it) also has a carrier outage. */
function planOutages(rounds: number, random: Random): boolean[] {
  const outages: boolean[] = [];
  while (outages.length < rounds)
    outages.push(
      ...shuffled(
        CHAOS_TARGETS.map((_, i) => i === 0),
        random,
      ),
    );
  return outages.slice(0, rounds);
}

export function planRounds(settings: PlanSettings, random: Random): RoundPlan[] {
  const victims = planVictims(settings.rounds, random);
  const outages = planOutages(settings.rounds, random);
  return victims.map((victim, round) => {
    const saleId = saleOfRound(round);
    const customers = Array.from(
      { length: settings.customersPerRound },
      (_, c) => `${saleId}-c${c}`,
    );
    const orders = plannedOrders(
      { ...settings, saleId, tokenTtlS: TOKEN_TTL_S },
      customers,
      random,
    );
    return {
      round,
      saleId,
      customers,
      orders,
      victim,
      killAfterAnswers: randomInt(random, 0, orders.length - 1),
      downtimeMs: Math.round(random() * DOWNTIME_MS_MAX),
      carrierOutageMs: outages[round] === true ? CARRIER_OUTAGE_MS : 0,
    };
  });
}
