import fc from 'fast-check';
import t from 'tap';
import type { OrderStatus } from '../engine/protocol/index.js';
import { loadAgentConfig } from '../shipping-agent/config.js';
import { decideDelivery } from '../shipping-agent/delivery-decision.js';
import {
  type SettleBoundSettings,
  settleBound,
  settleBoundSettings,
} from '../shipping-agent/settle-bound.js';

// How long an order may stay neither shipped nor dead-lettered: the formula of settle-bound.ts
// with the figures docs/operations.md gives, then checked against the decider itself: an order
// whose every delivery fails, each taking any time up to the formula's D, with the breaker open
// or not, is dead-lettered within the bound.

const settingsOf = (env: Record<string, string>) => settleBoundSettings(loadAgentConfig(env));
/** The settings of the hostile-carrier run of issue 17, the rest left to their defaults. */
const HOSTILE_ENV = { SHIPPING_BACKOFF_MS: '500,1000,2000,3000', SHIPPING_MAX_DELIVER: '30' };

t.test('the figures of docs/operations.md', async (t) => {
  // D = 3 attempts × 2 × 10 s + pauses of 200 ms and 400 ms, each with up to half again.
  const hostile = settleBound(settingsOf(HOSTILE_ENV));
  t.equal(hostile.deliveryMsMax, 60_900);
  t.equal(hostile.byDeliveriesMs, 30 * 60_900 + 29 * 10_000, 'the breaker reset, not the schedule');
  t.equal(hostile.byDeadlineMs, null);
  t.equal(hostile.settleMsMax, 2_117_000);
  const defaults = settleBound(settingsOf({}));
  t.equal(defaults.byDeliveriesMs, 8 * 60_900 + (10 + 10 + 15 + 30 + 60 + 120 + 300) * 1_000);
  const capped = settleBound(settingsOf({ ...HOSTILE_ENV, SHIPPING_DEADLINE_MS: '120000' }));
  t.equal(capped.byDeadlineMs, 120_000 + 10_000 + 60_900);
  t.equal(capped.settleMsMax, 190_900, 'the deadline bounds it');
});

const settingsArb: fc.Arbitrary<SettleBoundSettings> = fc.record({
  maxDeliver: fc.integer({ min: 2, max: 30 }),
  deadlineMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3_600_000 })),
  backoffMs: fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 8 }),
  attempts: fc.integer({ min: 1, max: 10 }),
  retryBaseMs: fc.integer({ min: 1, max: 60_000 }),
  breakerTimeoutMs: fc.integer({ min: 10, max: 300_000 }),
  breakerResetMs: fc.integer({ min: 10, max: 3_600_000 }),
});

/** One failed delivery: its share of the longest one, and the breaker as it ended. */
const turnArb = fc.record({
  share: fc.double({ min: 0, max: 1, noNaN: true }),
  breakerOpenShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
});

t.test('property: an order that keeps failing is dead-lettered within the bound', async () => {
  fc.assert(
    fc.property(settingsArb, fc.array(turnArb, { minLength: 30, maxLength: 30 }), (s, turns) => {
      const { deliveryMsMax, settleMsMax } = settleBound(s);
      let elapsedMs = 0;
      let status: OrderStatus = 'CONFIRMED';
      for (let n = 1; n <= s.maxDeliver; n += 1) {
        const turn = turns[n - 1]!;
        elapsedMs += turn.share * deliveryMsMax;
        const context = {
          deliveryCount: n,
          standing: {
            counted: n,
            maxDeliver: s.maxDeliver,
            stopping: false,
            ageMs: elapsedMs,
            deadlineMs: s.deadlineMs,
          },
          backoffMs: s.backoffMs,
          breakerResetMs: s.breakerResetMs,
        };
        if (
          decideDelivery({ kind: 'order_read', status, shipped: false }, context).kind !==
          'call_carrier'
        )
          return false;
        const breakerOpenMs =
          turn.breakerOpenShare === null ? null : turn.breakerOpenShare * s.breakerResetMs;
        const failed = { kind: 'carrier_failed', reason: 'x', breakerOpenMs, status } as const;
        const action = decideDelivery(failed, context);
        if (action.kind === 'dead_letter') return elapsedMs <= settleMsMax;
        if (action.kind !== 'retry') return false;
        elapsedMs += action.delayMs;
        status = 'SHIPPING_DELAYED';
      }
      return false; // the last delivery did not dead-letter
    }),
  );
});
