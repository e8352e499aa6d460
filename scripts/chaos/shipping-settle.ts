import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type OrderView, ordersStatusSubject } from '../../engine/protocol/index.js';
import { type EngineQueries, readHoldings } from '../audit/engine-reader.js';
import { mapLimited } from '../client/load-runner.js';

// After the last round: wait, bounded, until shipping has settled — every order the engine holds
// is SHIPPING_REQUESTED or SHIPPING_FAILED (dead-lettered). The engine is asked for every order
// of every customer of the run (not only the acknowledged ones: an order whose answer was lost is
// still an order to ship), then for those still pending whenever a status change is published,
// and at least every SETTLE_RECHECK_MS, since those publishes are core NATS with no guarantee.

/** Re-read at least this often even if no status change was heard. */
const SETTLE_RECHECK_MS = 1_000;
/** Engine queries in flight at once while re-reading the pending orders. */
const READ_CONCURRENCY = 64;

const SETTLED = new Set(['SHIPPING_REQUESTED', 'SHIPPING_FAILED']);
const isPending = (order: OrderView): boolean => !SETTLED.has(order.status);

export interface Settled {
  /** Orders still waiting for shipping when the wait ended (none when it settled). */
  readonly pending: readonly string[];
  readonly waitedMs: number;
}

export interface SaleCustomers {
  readonly saleId: string;
  readonly customers: readonly string[];
}

/** Every order of every customer of the run not settled yet (the engine's holdings). */
async function pendingOrders(
  client: EngineQueries,
  sales: readonly SaleCustomers[],
): Promise<OrderView[]> {
  const reads = await Promise.all(
    sales.map(({ saleId, customers }) => readHoldings(client, saleId, customers)),
  );
  return reads.flatMap((read) => read.holdings.flatMap((h) => h.orders)).filter(isPending);
}

export async function waitForShipping(
  nc: NatsConnection,
  client: EngineQueries,
  sales: readonly SaleCustomers[],
  timeoutMs: number,
): Promise<Settled> {
  const started = performance.now();
  let wake: (() => void) | null = null;
  const subscriptions: Subscription[] = sales.map(({ saleId }) =>
    nc.subscribe(ordersStatusSubject(saleId), { callback: () => wake?.() }),
  );
  const listen = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  try {
    // Listening before each read: a change published during the read wakes the next one.
    let changed = listen();
    let pending = await pendingOrders(client, sales);
    for (;;) {
      const waitedMs = performance.now() - started;
      if (pending.length === 0 || waitedMs >= timeoutMs)
        return { pending: pending.map((order) => order.orderId), waitedMs };
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        changed,
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.min(SETTLE_RECHECK_MS, timeoutMs - waitedMs));
        }),
      ]);
      clearTimeout(timer);
      changed = listen();
      // Only the orders still pending: the set of orders no longer grows once the bursts are over.
      const still = await mapLimited(pending, READ_CONCURRENCY, async (order) => {
        const { saleId, orderId } = order;
        const reply = await client.query(saleId, { type: 'GetOrder', orderId });
        return reply.ok && reply.kind === 'order' && !isPending(reply.order) ? null : order;
      });
      pending = still.filter((order): order is OrderView => order !== null);
    }
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
  }
}
