import t from 'tap';
import {
  encodeMessage,
  type OrderView,
  type QueryReply,
  saleQuerySubject,
} from '../engine/protocol/index.js';
import { type Acked, auditSale, CHAOS_STOCK_UNITS } from '../scripts/chaos/engine-audit.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { natsClient, startNats } from './helpers/nats.js';

// chaos:engine's audit of a recovered sale must compare the engine's counters with the orders it
// holds, not only with each other. A stub answers the sale's queries on a real NATS the way an
// engine would whose recovery brought every order back but under-counted `purchased` and sold:
// counters that agree with each other (3 sold = 1 + 2 purchased), orders that hold 4 units. The
// audit must name both discrepancies; comparing counters alone passed this. (engine-crash.test.ts
// runs the audit against the real engine through crashes.)

const SALE_ID = 'stubbed-recovery';

function order(orderId: string, customerId: string, quantity: number): OrderView {
  return {
    orderId,
    saleId: SALE_ID,
    customerId,
    quantity,
    status: 'CONFIRMED',
    trackingId: null,
    createdAt: 0,
    history: [{ status: 'CONFIRMED', at: 0, message: null }],
  };
}

/** Customer → [purchased as counted, orders held]. */
const HELD: ReadonlyMap<string, readonly [number, readonly OrderView[]]> = new Map([
  ['c0', [1, [order('o1', 'c0', 1), order('o2', 'c0', 1)]]],
  ['c1', [2, [order('o3', 'c1', 2)]]],
]);
const SOLD_BY_COUNTERS = 3;

function answer(query: { type: string; customerId?: string }): QueryReply {
  if (query.type === 'GetSale')
    return {
      ok: true,
      kind: 'sale',
      sale: {
        saleId: SALE_ID,
        name: SALE_ID,
        stock: CHAOS_STOCK_UNITS,
        remaining: CHAOS_STOCK_UNITS - SOLD_BY_COUNTERS,
        perCustomerLimit: 2,
        startsAt: null,
        endsAt: null,
        status: 'OPEN',
      },
    };
  const [purchased, orders] = HELD.get(query.customerId ?? '') ?? [0, []];
  return {
    ok: true,
    kind: 'customer',
    customer: { saleId: SALE_ID, customerId: query.customerId ?? '', purchased, orders },
  };
}

t.test('a recovery that under-counts purchased and sold is a breach', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  nc.subscribe(saleQuerySubject(SALE_ID), {
    callback: (_error, msg) => {
      msg.respond(encodeMessage(answer(msg.json())));
    },
  });
  const acked: Acked[] = [{ orderId: 'o2', saleId: SALE_ID, customerId: 'c0', quantity: 1 }];
  // c1's two units were asked for in the burst the engine was killed under, and never answered:
  // the audit allows for them (I1, I2), as it does in a run.
  const unknownUnits = new Map([['c1', 2]]);
  const record = { customers: new Set(HELD.keys()), acked, unknownUnits };

  const breaches = await auditSale(new EngineClient(nc), SALE_ID, record, { soldOut: false });
  t.ok(
    breaches.some((b) => /c0: purchased says 1 but its orders hold 2 units/.test(b)),
    'the under-counted purchase',
  );
  t.ok(
    breaches.some((b) => /stock − remaining = 3 but its orders hold 4 units/.test(b)),
    'the under-counted stock',
  );
  t.equal(breaches.length, 2, `nothing else: ${breaches.join('; ')}`);

  const afterBurst = await auditSale(new EngineClient(nc), SALE_ID, record, { soldOut: true });
  t.ok(
    afterBurst.some((b) => /97 units unsold although customers asked for them all/.test(b)),
    'after the burst that asked for the whole stock, units left unsold are a breach too',
  );
});
