import { type Random, randomInt } from '../client/seeded-random.js';
import { type PlannedOrder, plannedOrders } from './round-plan.js';

// What each machine-loss round does, decided up front from the seed: its sale (stock and cap),
// who presses "buy" how many times for how many units, after how many answers a machine is lost,
// and whether that machine is the one owning the sale (a failover) or another (a NATS node and a
// standby lost under a sale that stays where it is).

/** Above one order's 2 units, so the cap is reached over several orders (I2 across orders). */
const PER_CUSTOMER_LIMIT = 3;
/** Every this many rounds, one sells out mid-burst: stock below what the customers ask for. */
const SELL_OUT_EVERY_ROUNDS = 3;
/** A sell-out round's stock, as a share of the units asked: it runs out after the failover. */
const SELL_OUT_STOCK_SHARE = 0.6;
/** Other rounds have more stock than asked: every order could be taken, the cap aside. */
const PLENTY_STOCK_FACTOR = 2;
/**
 * The machine is lost once this share of the orders has its final answer: early enough that the
 * sale still has stock for the orders after the failover (whose first 201 is the measure).
 */
const KILL_AFTER_SHARE_MIN = 0.1;
const KILL_AFTER_SHARE_MAX = 0.35;
/** Every this many rounds, the machine lost is not the sale's owner (rounds 4, 8, …). */
const NON_OWNER_EVERY_ROUNDS = 4;
const TOKEN_TTL_S = 6 * 3_600;

export interface MachineRoundPlan {
  readonly round: number;
  readonly saleId: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly sellsOut: boolean;
  readonly customers: readonly string[];
  readonly orders: readonly PlannedOrder[];
  readonly killAfterAnswers: number;
  /** Lose the machine whose engine owns the sale (a failover), or another one. */
  readonly victim: 'owner' | 'other';
  /** Which of the two machines not owning the sale, for an `other` round (0 or 1). */
  readonly otherPick: number;
}

export interface MachinePlanSettings {
  readonly rounds: number;
  readonly customersPerRound: number;
  readonly gateways: number;
  readonly jwtSecret: string;
  /** Sale ids are `<prefix>-r<round>`: distinct per run, as the rehearsal keeps its catalogue. */
  readonly salePrefix: string;
}

export function planMachineRounds(settings: MachinePlanSettings, random: Random) {
  return Array.from({ length: settings.rounds }, (_, round): MachineRoundPlan => {
    const saleId = `${settings.salePrefix}-r${round}`;
    const customers = Array.from(
      { length: settings.customersPerRound },
      (_, c) => `${saleId}-c${c}`,
    );
    const orders = plannedOrders(
      { ...settings, saleId, tokenTtlS: TOKEN_TTL_S },
      customers,
      random,
    );
    const asked = orders.reduce((sum, order) => sum + order.quantity, 0);
    const sellsOut = round % SELL_OUT_EVERY_ROUNDS === SELL_OUT_EVERY_ROUNDS - 1;
    const share = KILL_AFTER_SHARE_MIN + random() * (KILL_AFTER_SHARE_MAX - KILL_AFTER_SHARE_MIN);
    return {
      round,
      saleId,
      stock: sellsOut ? Math.floor(asked * SELL_OUT_STOCK_SHARE) : asked * PLENTY_STOCK_FACTOR,
      perCustomerLimit: PER_CUSTOMER_LIMIT,
      sellsOut,
      customers,
      orders,
      killAfterAnswers: Math.floor(orders.length * share),
      victim: (round + 1) % NON_OWNER_EVERY_ROUNDS === 0 ? 'other' : 'owner',
      otherPick: randomInt(random, 0, 1),
    };
  });
}
