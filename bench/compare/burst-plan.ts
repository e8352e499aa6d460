// Who presses "buy" in the opening-second burst, decided before it starts and identical for both
// systems: every customer presses once (while there are requests for it) and the extra requests
// go to a quarter of them, who press several times at once. Quantities are 1 or 2. Seeded.

/** The share of customers who get the extra requests. */
const EAGER_CUSTOMERS_SHARE = 0.25;
/** The share of orders that ask for 2 units rather than 1. */
const TWO_UNIT_ORDERS_SHARE = 0.3;

export interface PlannedOrder {
  readonly customer: number;
  readonly quantity: 1 | 2;
}

/** mulberry32: small, fast, and enough to spread a load reproducibly. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A customer's presses are next to each other, so they are in flight together. */
export function planBurst(customers: number, requests: number, seed: number): PlannedOrder[] {
  const random = seededRandom(seed);
  const presses = Array.from({ length: customers }, (_, c) => (c < requests ? 1 : 0));
  const eager = Math.max(1, Math.round(customers * EAGER_CUSTOMERS_SHARE));
  for (let extra = customers; extra < requests; extra += 1)
    presses[Math.floor(random() * eager)]! += 1;
  const arrival = Array.from({ length: customers }, (_, c) => c);
  for (let i = arrival.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [arrival[i], arrival[j]] = [arrival[j]!, arrival[i]!];
  }
  const plan: PlannedOrder[] = [];
  for (const customer of arrival)
    for (let press = 0; press < presses[customer]!; press += 1)
      plan.push({ customer, quantity: random() < TWO_UNIT_ORDERS_SHARE ? 2 : 1 });
  return plan;
}
