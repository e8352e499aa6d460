import { seededRandom, shuffled } from '../client/seeded-random.js';

// Who sends what in a burst, decided before it starts: every customer presses "buy" at least once
// (while there are requests for it), and the extra requests go to a minority of eager customers
// who press several times at once. A customer's presses are sent back to back, so they are in
// flight together; the customers come in random order. Quantities are 1 or 2. Seeded, so a run
// can be repeated exactly.

/** The share of customers who get the extra requests (the rest press once). */
const EAGER_CUSTOMERS_SHARE = 0.25;
/** The share of orders that ask for 2 units rather than 1. */
const TWO_UNIT_ORDERS_SHARE = 0.3;

export interface PlannedOrder {
  readonly customer: number;
  readonly quantity: 1 | 2;
}

export function planBurst(customers: number, requests: number, seed: number): PlannedOrder[] {
  const random = seededRandom(seed);
  const presses = Array.from({ length: customers }, (_, c) => (c < requests ? 1 : 0));
  const eager = Math.max(1, Math.round(customers * EAGER_CUSTOMERS_SHARE));
  for (let extra = customers; extra < requests; extra += 1)
    presses[Math.floor(random() * eager)]! += 1;
  const order = shuffled(
    Array.from({ length: customers }, (_, c) => c),
    random,
  );
  const plan: PlannedOrder[] = [];
  for (const customer of order) {
    for (let press = 0; press < presses[customer]!; press += 1)
      plan.push({ customer, quantity: random() < TWO_UNIT_ORDERS_SHARE ? 2 : 1 });
  }
  return plan;
}
