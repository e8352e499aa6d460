import fc from 'fast-check';
import t from 'tap';
import type { OrderStatus } from '../engine/protocol/index.js';
import { lastChance, type Standing } from '../shipping-agent/delivery-budget.js';
import {
  type DeliveryAction,
  type DeliveryContext,
  type DeliveryFact,
  decideDelivery,
  ENGINE_RETRY_DELAY_MS,
  EXHAUSTED_REASON,
} from '../shipping-agent/delivery-decision.js';

// The shipping agent's decision table, in-process: one example per row of the table at the top
// of shipping-agent/delivery-decision.ts, then properties over any facts: a stop never
// dead-letters, nothing is acked before the carrier took the shipment or the engine knew it
// shipped, no delay passes the configured maximum, and the deliveries that count stay within
// SHIPPING_MAX_DELIVER.

const MAX_DELIVER = 4;
const BACKOFF_MS = [100, 200, 400] as const;
const BREAKER_RESET_MS = 1_000;
const STATUSES: readonly OrderStatus[] = [
  'CONFIRMED',
  'SHIPPING_DELAYED',
  'SHIPPING_REQUESTED',
  'SHIPPING_FAILED',
];

function context(deliveryCount: number, changes: Partial<Standing> = {}): DeliveryContext {
  return {
    deliveryCount,
    standing: {
      counted: deliveryCount,
      maxDeliver: MAX_DELIVER,
      stopping: false,
      ageMs: 0,
      deadlineMs: 0,
      ...changes,
    },
    backoffMs: BACKOFF_MS,
    breakerResetMs: BREAKER_RESET_MS,
  };
}

const notShipped = (status: OrderStatus = 'CONFIRMED'): DeliveryFact => ({
  kind: 'order_read',
  status,
  shipped: false,
});
const carrierFailed = (breakerOpenMs: number | null, status: OrderStatus = 'CONFIRMED') =>
  ({ kind: 'carrier_failed', reason: 'carrier answered 503', breakerOpenMs, status }) as const;
const engineAway: DeliveryFact = { kind: 'step_failed', engineAway: true, reason: 'no reply' };
const otherError: DeliveryFact = { kind: 'step_failed', engineAway: false, reason: 'refused' };

t.test('the agent is stopping: hand back at every point, whatever the number', async (t) => {
  for (const count of [1, MAX_DELIVER - 1, MAX_DELIVER, MAX_DELIVER + 2])
    for (const fact of [
      notShipped(),
      carrierFailed(null),
      carrierFailed(500),
      engineAway,
      otherError,
    ])
      t.same(
        decideDelivery(fact, context(count, { stopping: true })),
        { kind: 'hand_back' },
        `${fact.kind} on delivery ${count}`,
      );
});

t.test('the engine does not know the order: drop it', async (t) => {
  t.same(decideDelivery({ kind: 'order_unknown' }, context(1)), { kind: 'drop' });
  t.same(decideDelivery({ kind: 'order_unknown' }, context(9, { stopping: true })), {
    kind: 'drop',
  });
});

t.test('already shipped: ack without a carrier call, even past the last delivery', async (t) => {
  for (const count of [1, MAX_DELIVER, MAX_DELIVER + 3])
    t.same(
      decideDelivery(
        { kind: 'order_read', status: 'SHIPPING_REQUESTED', shipped: true },
        context(count),
      ),
      { kind: 'ack_shipped' },
      `delivery ${count}`,
    );
});

t.test('past the last delivery (its agent died): dead letter, no carrier call', async (t) => {
  t.same(decideDelivery(notShipped('SHIPPING_DELAYED'), context(MAX_DELIVER + 1)), {
    kind: 'dead_letter',
    reason: EXHAUSTED_REASON,
  });
});

t.test('up to the last delivery: call the carrier; "confirmed" told on the first', async (t) => {
  t.same(decideDelivery(notShipped('CONFIRMED'), context(1)), {
    kind: 'call_carrier',
    tellConfirmed: true,
  });
  t.same(decideDelivery(notShipped('CONFIRMED'), context(2)), {
    kind: 'call_carrier',
    tellConfirmed: false,
  });
  t.same(decideDelivery(notShipped('SHIPPING_DELAYED'), context(MAX_DELIVER)), {
    kind: 'call_carrier',
    tellConfirmed: false,
  });
});

t.test('the carrier took the shipment: report it, then ack; even while stopping', async (t) => {
  for (const stopping of [false, true])
    t.same(decideDelivery({ kind: 'carrier_shipped' }, context(MAX_DELIVER, { stopping })), {
      kind: 'report_shipped',
    });
});

t.test('all attempts failed: "delayed" once, nak with the schedule', async (t) => {
  t.same(decideDelivery(carrierFailed(null), context(1)), {
    kind: 'retry',
    delayMs: BACKOFF_MS[0],
    reportDelayed: true,
    outcome: 'delayed',
  });
  t.same(decideDelivery(carrierFailed(null, 'SHIPPING_DELAYED'), context(3)), {
    kind: 'retry',
    delayMs: BACKOFF_MS[2],
    reportDelayed: false,
    outcome: 'delayed',
  });
});

t.test('breaker open: nak for its remaining time, never less than the schedule', async (t) => {
  const open = (openMs: number, count: number) =>
    decideDelivery(carrierFailed(openMs, 'SHIPPING_DELAYED'), context(count));
  t.match(open(700, 1), { kind: 'retry', delayMs: 700, outcome: 'breaker_open' });
  t.match(open(50, 3), { delayMs: BACKOFF_MS[2] }, 'the schedule when it is longer');
  t.match(open(0, 1), { delayMs: BACKOFF_MS[0] }, 'half-open, refused: the schedule');
  t.match(open(60_000, 1), { delayMs: BREAKER_RESET_MS }, 'never past the reset');
  t.match(open(278.8, 1), { delayMs: 279 }, 'whole milliseconds, rounded up');
  t.match(decideDelivery(carrierFailed(700), context(1)), { reportDelayed: true });
});

t.test('the last delivery failed: dead letter with the carrier reason', async (t) => {
  for (const breakerOpenMs of [null, 500])
    t.same(decideDelivery(carrierFailed(breakerOpenMs), context(MAX_DELIVER)), {
      kind: 'dead_letter',
      reason: 'carrier answered 503',
    });
});

t.test('engine out of reach past its wait: nak 1 s; the last delivery dead-letters', async (t) => {
  const soon = {
    kind: 'retry',
    delayMs: ENGINE_RETRY_DELAY_MS,
    reportDelayed: false,
    outcome: 'engine_unavailable',
  };
  t.same(decideDelivery(engineAway, context(1)), soon);
  t.same(decideDelivery(engineAway, context(MAX_DELIVER)), {
    kind: 'dead_letter',
    reason: 'engine unavailable: no reply',
  });
  t.same(
    decideDelivery(engineAway, context(MAX_DELIVER + 1)),
    soon,
    'past the last: dead-lettered once the engine can say whether it shipped',
  );
});

t.test('any other error: nak with the schedule; the last delivery dead-letters', async (t) => {
  t.same(decideDelivery(otherError, context(2)), {
    kind: 'retry',
    delayMs: BACKOFF_MS[1],
    reportDelayed: false,
    outcome: 'errored',
  });
  t.same(decideDelivery(otherError, context(MAX_DELIVER)), {
    kind: 'dead_letter',
    reason: 'refused',
  });
});

t.test('dead-lettered but SHIPPING_FAILED not recorded: nak 1 s', async (t) => {
  t.same(decideDelivery({ kind: 'failure_unrecorded' }, context(MAX_DELIVER)), {
    kind: 'retry',
    delayMs: ENGINE_RETRY_DELAY_MS,
    reportDelayed: false,
    outcome: 'dead_lettered',
  });
});

t.test('past SHIPPING_DEADLINE_MS: the carrier is called, and a failure is the last', async (t) => {
  const late = context(2, { ageMs: 60_000, deadlineMs: 60_000 });
  t.match(decideDelivery(notShipped('SHIPPING_DELAYED'), late), { kind: 'call_carrier' });
  t.same(decideDelivery(carrierFailed(500), late), {
    kind: 'dead_letter',
    reason: 'carrier answered 503',
  });
  t.same(decideDelivery(otherError, late), { kind: 'dead_letter', reason: 'refused' });
  t.match(decideDelivery(engineAway, late), { kind: 'retry', outcome: 'engine_unavailable' });
});

t.test('stop releases: deliveries handed back on a stop do not count', async (t) => {
  // JetStream's count is past the last, but two of them were hand-backs: the carrier is called.
  const released = context(MAX_DELIVER + 1, { counted: MAX_DELIVER - 1 });
  t.match(decideDelivery(notShipped('SHIPPING_DELAYED'), released), { kind: 'call_carrier' });
  t.match(decideDelivery(carrierFailed(null), released), { kind: 'retry' });
});

// --- properties ---------------------------------------------------------------------------------

const factArb: fc.Arbitrary<DeliveryFact> = fc.oneof(
  fc.constant<DeliveryFact>({ kind: 'order_unknown' }),
  fc.record({
    kind: fc.constant('order_read' as const),
    status: fc.constantFrom(...STATUSES),
    shipped: fc.boolean(),
  }),
  fc.constant<DeliveryFact>({ kind: 'carrier_shipped' }),
  fc.record({
    kind: fc.constant('carrier_failed' as const),
    reason: fc.string({ minLength: 1, maxLength: 8 }),
    // A monotonic clock's fractions of a millisecond included.
    breakerOpenMs: fc.option(fc.double({ min: 0, max: 10 * BREAKER_RESET_MS, noNaN: true }), {
      nil: null,
    }),
    status: fc.constantFrom(...STATUSES),
  }),
  fc.record({
    kind: fc.constant('step_failed' as const),
    engineAway: fc.boolean(),
    reason: fc.string({ minLength: 1, maxLength: 8 }),
  }),
  fc.constant<DeliveryFact>({ kind: 'failure_unrecorded' }),
);

const contextArb: fc.Arbitrary<DeliveryContext> = fc
  .record({
    deliveryCount: fc.integer({ min: 1, max: 40 }),
    handedBack: fc.integer({ min: 0, max: 5 }),
    maxDeliver: fc.integer({ min: 2, max: 30 }),
    stopping: fc.boolean(),
    ageMs: fc.integer({ min: 0, max: 1_000_000 }),
    deadlineMs: fc.constantFrom(0, 1_000, 100_000),
    backoffMs: fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 8 }),
    breakerResetMs: fc.integer({ min: 10, max: 3_600_000 }),
  })
  .map((c) => ({
    deliveryCount: c.deliveryCount,
    standing: {
      counted: c.deliveryCount - c.handedBack,
      maxDeliver: c.maxDeliver,
      stopping: c.stopping,
      ageMs: c.ageMs,
      deadlineMs: c.deadlineMs,
    },
    backoffMs: c.backoffMs,
    breakerResetMs: c.breakerResetMs,
  }));

t.test('property: a stopping agent never dead-letters', async () => {
  fc.assert(
    fc.property(factArb, contextArb, (fact, ctx) => {
      const stopping = { ...ctx, standing: { ...ctx.standing, stopping: true } };
      return decideDelivery(fact, stopping).kind !== 'dead_letter';
    }),
  );
});

const ACKING: ReadonlySet<DeliveryAction['kind']> = new Set(['ack_shipped', 'report_shipped']);

t.test('property: acked only once the carrier took it or the engine knew it shipped', async () => {
  fc.assert(
    fc.property(factArb, contextArb, (fact, ctx) => {
      if (!ACKING.has(decideDelivery(fact, ctx).kind)) return true;
      return fact.kind === 'carrier_shipped' || (fact.kind === 'order_read' && fact.shipped);
    }),
  );
});

t.test('property: no delay passes the configured maximum, each in whole ms', async () => {
  fc.assert(
    fc.property(factArb, contextArb, (fact, ctx) => {
      const action = decideDelivery(fact, ctx);
      if (action.kind !== 'retry') return true;
      const maxMs = Math.max(...ctx.backoffMs, ctx.breakerResetMs, ENGINE_RETRY_DELAY_MS);
      // Whole milliseconds: nats-server takes a nak delay with a fraction for none at all.
      return Number.isInteger(action.delayMs) && action.delayMs >= 0 && action.delayMs <= maxMs;
    }),
  );
});

t.test('property: from the last delivery or the deadline on, no failure is put back', async () => {
  fc.assert(
    fc.property(factArb, contextArb, (fact, ctx) => {
      const { counted, maxDeliver, stopping } = ctx.standing;
      if (stopping || !lastChance(ctx.standing)) return true;
      const action = decideDelivery(fact, ctx);
      if (action.kind !== 'retry') return true;
      // Only for the engine (past the last delivery, or past the deadline before it): a dead
      // letter must wait until the engine can say whether the order shipped.
      const waitsForEngine =
        fact.kind === 'step_failed' && fact.engineAway && counted !== maxDeliver;
      return waitsForEngine || fact.kind === 'failure_unrecorded';
    }),
  );
});

/** What happens to one delivery in the life of an order, in the simulation below. */
type Turn =
  | { readonly kind: 'carrier'; readonly outcome: 'fail' | 'breaker' | 'ship' }
  | { readonly kind: 'error' }
  | { readonly kind: 'stop'; readonly recorded: boolean };

const turnArb: fc.Arbitrary<Turn> = fc.oneof(
  fc.record({
    kind: fc.constant('carrier' as const),
    outcome: fc.constantFrom('fail' as const, 'breaker' as const, 'ship' as const),
  }),
  fc.constant<Turn>({ kind: 'error' }),
  fc.record({ kind: fc.constant('stop' as const), recorded: fc.boolean() }),
);

/**
 * An order's deliveries one after the other, each deciding as delivery.ts does: read the order,
 * then the carrier's answer or an error. Answers the deliveries that counted and called the
 * carrier, and whether the order was settled (shipped or dead-lettered).
 */
function live(turns: readonly Turn[], maxDeliver: number) {
  let deliveryCount = 0;
  let released = 0;
  let countedCalls = 0;
  let status: OrderStatus = 'CONFIRMED';
  for (const turn of turns) {
    deliveryCount += 1;
    const ctx: DeliveryContext = {
      deliveryCount,
      standing: {
        counted: deliveryCount - released,
        maxDeliver,
        stopping: turn.kind === 'stop',
        ageMs: 0,
        deadlineMs: 0,
      },
      backoffMs: BACKOFF_MS,
      breakerResetMs: BREAKER_RESET_MS,
    };
    const first = decideDelivery({ kind: 'order_read', status, shipped: false }, ctx);
    if (first.kind === 'dead_letter') return { countedCalls, settled: true };
    if (first.kind === 'hand_back') {
      if (turn.kind === 'stop' && turn.recorded) released += 1;
      continue;
    }
    if (first.kind !== 'call_carrier') throw new Error(`unexpected ${first.kind}`);
    countedCalls += 1;
    const fact: DeliveryFact =
      turn.kind === 'carrier' && turn.outcome === 'ship'
        ? { kind: 'carrier_shipped' }
        : turn.kind === 'error'
          ? otherError
          : carrierFailed(
              turn.kind === 'carrier' && turn.outcome === 'breaker' ? 300 : null,
              status,
            );
    const next = decideDelivery(fact, ctx);
    if (next.kind === 'report_shipped' || next.kind === 'dead_letter')
      return { countedCalls, settled: true };
    if (next.kind === 'retry' && next.reportDelayed) status = 'SHIPPING_DELAYED';
  }
  return { countedCalls, settled: false };
}

t.test('property: the deliveries spent are bounded by SHIPPING_MAX_DELIVER', async () => {
  fc.assert(
    fc.property(
      fc.array(turnArb, { maxLength: 60 }),
      fc.integer({ min: 2, max: 30 }),
      (turns, maxDeliver) => {
        const { countedCalls, settled } = live(turns, maxDeliver);
        const counting = turns.filter((turn) => turn.kind !== 'stop').length;
        // Every delivery that counts calls the carrier, up to the last; then the order is settled.
        return countedCalls <= maxDeliver && (settled || counting < maxDeliver);
      },
    ),
  );
});
