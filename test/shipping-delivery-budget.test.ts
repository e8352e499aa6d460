import t from 'tap';
import {
  countedDeliveries,
  type Standing,
  stepAfterCarrierFailed,
  stepAfterError,
  stepBeforeCarrier,
} from '../shipping-agent/delivery-budget.js';

// What a delivery does next against SHIPPING_MAX_DELIVER, for every delivery number around the
// budget, stopping or not: a stop never dead-letters, the last counted delivery always gets its
// carrier call, and deliveries handed back on a stop cost the order nothing.

const MAX_DELIVER = 4;
/** Every delivery number up to well past the budget (JetStream never gives a message up). */
const COUNTS = Array.from({ length: MAX_DELIVER + 3 }, (_, i) => i + 1);

/** No deadline: the deliveries alone bound the order (SHIPPING_DEADLINE_MS=0, the default). */
const NO_DEADLINE = { ageMs: 0, deadlineMs: 0 } as const;

function standings(stopping: boolean): Standing[] {
  return COUNTS.map((counted) => ({ counted, maxDeliver: MAX_DELIVER, stopping, ...NO_DEADLINE }));
}

t.test('a stopping agent hands every delivery back, whatever its number', async (t) => {
  for (const standing of standings(true)) {
    t.equal(stepBeforeCarrier(standing), 'hand_back', `before the carrier, #${standing.counted}`);
    t.equal(stepAfterCarrierFailed(standing), 'hand_back', `after it, #${standing.counted}`);
    for (const engineAway of [true, false])
      t.equal(
        stepAfterError(standing, engineAway),
        'hand_back',
        `after an error (engine away: ${engineAway}), #${standing.counted}`,
      );
  }
});

t.test('the carrier is called up to the last delivery, never past it', async (t) => {
  t.same(
    standings(false).map(stepBeforeCarrier),
    COUNTS.map((counted) => (counted <= MAX_DELIVER ? 'call_carrier' : 'dead_letter')),
  );
});

t.test('a carrier failure dead-letters from the last delivery on', async (t) => {
  t.same(
    standings(false).map(stepAfterCarrierFailed),
    COUNTS.map((counted) => (counted < MAX_DELIVER ? 'retry_later' : 'dead_letter')),
  );
});

t.test('an engine away is asked again soon; past the last delivery too', async (t) => {
  t.same(
    standings(false).map((standing) => stepAfterError(standing, true)),
    COUNTS.map((counted) => (counted === MAX_DELIVER ? 'dead_letter' : 'retry_soon')),
  );
});

t.test('any other error follows the backoff schedule, like a carrier failure', async (t) => {
  t.same(
    standings(false).map((standing) => stepAfterError(standing, false)),
    standings(false).map(stepAfterCarrierFailed),
  );
});

t.test('deliveries handed back on a stop do not count', async (t) => {
  t.equal(countedDeliveries(5, 0), 5, 'none handed back: JetStream count');
  t.equal(countedDeliveries(5, 2), 3, 'two earlier ones handed back');
  // The review's case: the last delivery, then one past it, both handed back on a stop. The next
  // delivery is still within the budget and gets its carrier call.
  const next = MAX_DELIVER + 2;
  const counted = countedDeliveries(next, 2);
  t.equal(
    stepBeforeCarrier({ counted, maxDeliver: MAX_DELIVER, stopping: false, ...NO_DEADLINE }),
    'call_carrier',
  );
  // nats-server 2.9 may deliver again with the count restarted at 1: hand-backs then outnumber
  // it, which errs towards more deliveries, never towards a dead letter.
  const restarted = {
    counted: countedDeliveries(1, 3),
    maxDeliver: MAX_DELIVER,
    stopping: false,
    ...NO_DEADLINE,
  };
  t.equal(stepBeforeCarrier(restarted), 'call_carrier', 'a restarted count calls the carrier');
  t.equal(stepAfterCarrierFailed(restarted), 'retry_later', 'and retries after a failure');
  t.equal(stepAfterError(restarted, true), 'retry_soon', 'and waits for an absent engine');
});

t.test('past the deadline a failure is the last; the carrier is still called', async (t) => {
  const deadline = { deadlineMs: 5_000, maxDeliver: MAX_DELIVER, stopping: false, counted: 1 };
  const past = { ...deadline, ageMs: 5_000 };
  t.equal(stepBeforeCarrier(past), 'call_carrier', 'it gets its carrier call');
  t.equal(stepAfterCarrierFailed(past), 'dead_letter', 'a carrier failure is its last');
  t.equal(stepAfterError(past, false), 'dead_letter', 'and so is any other error');
  t.equal(
    stepAfterError(past, true),
    'retry_soon',
    'not an absent engine: the dead letter needs it',
  );
  t.equal(stepAfterCarrierFailed({ ...past, stopping: true }), 'hand_back', 'a stop never');
  const before = { ...deadline, ageMs: 4_999 };
  t.equal(stepAfterCarrierFailed(before), 'retry_later', 'before it, the schedule');
  const none = { ...deadline, deadlineMs: 0, ageMs: 365 * 24 * 3_600_000 };
  t.equal(stepAfterCarrierFailed(none), 'retry_later', 'no deadline, however old the order');
});
