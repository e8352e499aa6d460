import { mayHaveBeenPlaced, type PlacementOutcome } from '../client/order-placement.js';
import type { PlannedOrder } from './plan.js';

// What a burst's replies add up to, from the client's side: orders and units accepted, per
// customer, each rejection code, the failures, and the requests whose outcome is unknown.

export interface AcceptedOrder {
  readonly orderId: string;
  readonly customer: number;
  readonly quantity: number;
  readonly status: number;
}

export interface BurstTally {
  readonly requests: number;
  readonly accepted: readonly AcceptedOrder[];
  readonly acceptedUnits: number;
  /** Accepted units per customer index. */
  readonly unitsByCustomer: ReadonlyMap<number, number>;
  /** `CODE (status)` → count, most frequent first. */
  readonly rejections: readonly (readonly [string, number])[];
  /** Failure reason → count. */
  readonly failures: readonly (readonly [string, number])[];
  /** Customers with a request whose outcome is unknown, and the units those asked for. */
  readonly unknownUnitsByCustomer: ReadonlyMap<number, number>;
}

function increment<K>(counts: Map<K, number>, key: K, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

const byCountDescending = (counts: Map<string, number>): (readonly [string, number])[] =>
  [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

export function tallyBurst(
  plan: readonly PlannedOrder[],
  outcomes: readonly PlacementOutcome[],
): BurstTally {
  const accepted: AcceptedOrder[] = [];
  const unitsByCustomer = new Map<number, number>();
  const unknownUnitsByCustomer = new Map<number, number>();
  const rejections = new Map<string, number>();
  const failures = new Map<string, number>();
  let acceptedUnits = 0;
  outcomes.forEach((outcome, i) => {
    const { customer, quantity } = plan[i]!;
    if (mayHaveBeenPlaced(outcome)) increment(unknownUnitsByCustomer, customer, quantity);
    switch (outcome.kind) {
      case 'accepted':
        accepted.push({ orderId: outcome.orderId, customer, quantity, status: outcome.status });
        increment(unitsByCustomer, customer, quantity);
        acceptedUnits += quantity;
        break;
      case 'rejected':
        increment(rejections, `${outcome.code} (${outcome.status})`);
        break;
      case 'failed':
        increment(failures, outcome.reason);
        break;
    }
  });
  return {
    requests: outcomes.length,
    accepted,
    acceptedUnits,
    unitsByCustomer,
    rejections: byCountDescending(rejections),
    failures: byCountDescending(failures),
    unknownUnitsByCustomer,
  };
}
