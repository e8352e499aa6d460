import t from 'tap';
import { drawOrder, sha256Hex } from '../engine/protocol/index.js';
import {
  type AdmissionReading,
  auditAdmission,
  I9_DRAW_CHECK,
  I9_ORDER_CHECK,
  I9_ORDERS_CHECK,
  I9_RATE_CHECK,
  type PlaceReading,
} from '../scripts/audit/admission.js';

// The I9 audit's checks on readings made up to hold, then broken one way at a time.

const SEED = 'ab'.repeat(32);
const LOBBY = ['1', '2', '3', '4'];
const T = Date.UTC(2026, 11, 5, 10);
const TTL_MS = 60_000;

/** Four lobby entrants with the drawn tickets, admitted one every 600 ms, each ordering once. */
function holding(): AdmissionReading {
  const order = drawOrder(SEED, LOBBY);
  const places: PlaceReading[] = LOBBY.map((entryId, i) => {
    const ticket = order.indexOf(entryId) + 1;
    const admittedAt = T + ticket * 600;
    return {
      customerId: `c${i + 1}`,
      entryId,
      ticket,
      state: 'ADMITTED',
      admittedAt,
      admittedUntil: admittedAt + TTL_MS,
      orderTimes: [admittedAt + 10],
    };
  });
  return {
    saleId: 's',
    admitPerSecond: 2,
    draw: { seedHash: sha256Hex(SEED), seed: SEED, lobby: LOBBY },
    places,
    unread: [],
  };
}

const breachesOf = (reading: AdmissionReading, check: string) =>
  auditAdmission(reading).find((row) => row.check === check)?.breaches ?? [];

const withPlace = (reading: AdmissionReading, ticket: number, change: Partial<PlaceReading>) => ({
  ...reading,
  places: reading.places.map((p) => (p.ticket === ticket ? { ...p, ...change } : p)),
});

t.test('a run that holds I9', async (t) => {
  const rows = auditAdmission(holding());
  for (const row of rows) t.same(row.breaches, [], row.check);
  t.same(
    rows.map((r) => r.checked),
    [4, 4, 4, 4],
  );
});

t.test('each way of breaking it is found', async (t) => {
  const fair = holding();
  t.equal(
    breachesOf({ ...fair, draw: { ...fair.draw, seedHash: 'f'.repeat(64) } }, I9_DRAW_CHECK).length,
    1,
    'another seed',
  );
  const swapped = withPlace(withPlace(fair, 1, { ticket: 99 }), 2, { ticket: 1 });
  t.ok(breachesOf(swapped, I9_DRAW_CHECK).length > 0, 'a ticket the draw does not give');
  const skipped = withPlace(fair, 2, {
    admittedAt: null,
    admittedUntil: null,
    state: 'WAITING',
    orderTimes: [],
  });
  t.equal(breachesOf(skipped, I9_ORDER_CHECK).length, 2, 'tickets 3 and 4 admitted while 2 waits');
  const early = withPlace(fair, 3, { orderTimes: [T] });
  t.equal(breachesOf(early, I9_ORDERS_CHECK).length, 1, 'an order before the admission');
  const late = withPlace(fair, 3, { orderTimes: [T + 3 * 600 + TTL_MS] });
  t.equal(breachesOf(late, I9_ORDERS_CHECK).length, 1, 'an order after it expired');
  const burst = {
    ...fair,
    places: fair.places.map((p) => ({
      ...p,
      admittedAt: T,
      admittedUntil: T + TTL_MS,
      orderTimes: [],
    })),
  };
  t.equal(breachesOf(burst, I9_RATE_CHECK).length, 1, 'four within a second, at two a second');
});

t.test('what was not read is unread, not a pass', async (t) => {
  const rows = auditAdmission({ ...holding(), unread: ['c9: queue place unread (503)'] });
  for (const row of rows) t.same(row.unread, ['c9: queue place unread (503)'], row.check);
  const undrawn = auditAdmission({ ...holding(), draw: { seedHash: sha256Hex(SEED) } });
  t.equal(undrawn.find((r) => r.check === I9_DRAW_CHECK)?.unread.length, 1);
});
