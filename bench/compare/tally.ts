import { mayHaveBeenPlaced, type PlacementOutcome } from '../../scripts/client/order-placement.js';

// What a run's replies add up to, from the client's side: the orders it was given (by customer),
// every refusal by code, and the requests whose outcome it never learned, which may or may not
// have placed an order and so widen what the audit accepts.

export interface AcceptedOrder {
  readonly orderId: string;
  readonly customer: number;
  readonly quantity: number;
}

export interface Tally {
  readonly accepted: AcceptedOrder[];
  acceptedUnits: number;
  /** "409 SOLD_OUT" → count; failures under "failed: <reason>". */
  readonly byOutcome: Map<string, number>;
  readonly unitsByCustomer: Map<number, number>;
  readonly unknownUnitsByCustomer: Map<number, number>;
}

export function emptyTally(): Tally {
  return {
    accepted: [],
    acceptedUnits: 0,
    byOutcome: new Map(),
    unitsByCustomer: new Map(),
    unknownUnitsByCustomer: new Map(),
  };
}

const add = (map: Map<number | string, number>, key: number | string, n: number): void => {
  map.set(key, (map.get(key) ?? 0) + n);
};

export function count(
  tally: Tally,
  customer: number,
  quantity: number,
  outcome: PlacementOutcome,
): void {
  switch (outcome.kind) {
    case 'accepted':
      tally.accepted.push({ orderId: outcome.orderId, customer, quantity: outcome.quantity });
      tally.acceptedUnits += outcome.quantity;
      add(tally.unitsByCustomer, customer, outcome.quantity);
      add(tally.byOutcome, `${outcome.status} accepted`, 1);
      return;
    case 'rejected':
      add(tally.byOutcome, `${outcome.status} ${outcome.code}`, 1);
      break;
    case 'failed':
      add(tally.byOutcome, `failed: ${outcome.reason}`, 1);
      break;
  }
  if (mayHaveBeenPlaced(outcome)) add(tally.unknownUnitsByCustomer, customer, quantity);
}

export const unknownUnits = (tally: Tally): number =>
  [...tally.unknownUnitsByCustomer.values()].reduce((a, b) => a + b, 0);
