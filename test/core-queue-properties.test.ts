import fc from 'fast-check';
import t from 'tap';
import {
  ADMISSION_WINDOW_MS,
  type Command,
  drawOrder,
  type EngineState,
  type Event,
  evolve,
  fromSnapshotData,
  initialState,
  type SnapshotData,
  toSnapshotData,
} from '../engine/core/index.js';
import { step } from './helpers/core.js';
import { configureRoom, DRAW_AT, LOBBY_AT, ROOM, SALE, SEED } from './helpers/queue.js';

// Random sequences of joins (fresh and reused solutions), leaves, ticks and orders in time order
// around the lobby and the draw. After every step: I9 (admitted in ticket order, the lobby's
// tickets the seed's shuffle, no order before admission or after it expired, never more than
// admitPerSecond within any second) and "replaying the log, or a snapshot of the state, gives the
// same state".

const CUSTOMERS = Array.from({ length: 8 }, (_, i) => `c${i + 1}`);

const stepArb = fc.record({
  kind: fc.constantFrom('join', 'join', 'leave', 'tick', 'tick', 'tick', 'order', 'order', 'order'),
  customer: fc.constantFrom(...CUSTOMERS),
  solution: fc.constantFrom('s1', 's2', 's3', 'fresh'),
  advanceMs: fc.integer({ min: 0, max: 900 }),
});

type Step = typeof stepArb extends fc.Arbitrary<infer S> ? S : never;

/** Half the orders come from someone admitted (if anyone is), so accepted orders are common. */
function buyerOf(s: Step, state: EngineState): string {
  const admitted = state.sales.get(SALE)?.queue?.entries.filter((e) => e.admittedAt !== null);
  const pick = admitted?.[s.advanceMs % Math.max(1, admitted.length)];
  return s.advanceMs % 2 === 0 && pick !== undefined ? pick.customerId : s.customer;
}

function commandOf(s: Step, at: number, serial: number, state: EngineState): Command {
  switch (s.kind) {
    case 'join': {
      const solutionId = s.solution === 'fresh' ? `fresh-${serial}` : s.solution;
      return {
        type: 'JoinQueue',
        saleId: SALE,
        customerId: s.customer,
        solutionId,
        seed: SEED,
        at,
      };
    }
    case 'leave':
      return { type: 'LeaveQueue', saleId: SALE, customerId: s.customer, at };
    case 'tick':
      return { type: 'TickQueue', saleId: SALE, seed: SEED, at };
    default:
      return {
        type: 'PlaceOrder',
        saleId: SALE,
        customerId: buyerOf(s, state),
        quantity: 1,
        idempotencyKey: null,
        requestHash: null,
        at,
      };
  }
}

function checkAdmissionOrder(state: EngineState): void {
  const queue = state.sales.get(SALE)?.queue;
  if (queue == null) return;
  if (queue.drawnAt !== null) {
    const lobby = queue.entries.slice(0, queue.lobbySize);
    const drawnOrder = drawOrder(queue.seed, lobby).map((e) => e.entryId);
    const ticketOrder = queue.line.slice(0, lobby.length).map((e) => e.entryId);
    if (drawnOrder.join() !== ticketOrder.join()) throw new Error('lobby tickets are not the draw');
  }
  let lastAdmittedAt = Number.NEGATIVE_INFINITY;
  queue.line.forEach((entry, index) => {
    const ticket = index + 1;
    if (entry.ticket !== ticket) throw new Error(`entry at ${ticket} has ticket ${entry.ticket}`);
    if (ticket > queue.serving && entry.admittedAt !== null)
      throw new Error(`ticket ${ticket} admitted above serving ${queue.serving}`);
    if (ticket <= queue.serving && entry.admittedAt === null && !entry.left)
      throw new Error(`ticket ${ticket} skipped though still queued`);
    if (entry.admittedAt !== null) {
      if (entry.admittedAt < lastAdmittedAt) throw new Error(`ticket ${ticket} admitted early`);
      lastAdmittedAt = entry.admittedAt;
    }
  });
}

function checkOrdersAdmitted(state: EngineState): void {
  const sale = state.sales.get(SALE);
  for (const order of sale?.orders ?? []) {
    const entry = sale?.queue?.byCustomer.get(order.customerId);
    const since = entry?.admittedAt ?? null;
    if (since === null || order.createdAt < since)
      throw new Error(`order ${order.orderId} placed before admission`);
    if (order.createdAt >= since + ROOM.admissionTtlS * 1_000)
      throw new Error(`order ${order.orderId} placed after the admission expired`);
  }
}

function checkRate(log: readonly Event[]): void {
  const advances = log.filter((e) => e.type === 'QueueAdvanced');
  for (const last of advances) {
    const within = advances
      .filter((e) => e.at >= last.at - ADMISSION_WINDOW_MS && e.at <= last.at)
      .reduce((sum, e) => sum + e.admitted, 0);
    if (within > ROOM.admitPerSecond)
      throw new Error(`${within} admitted within a second ending at ${last.at}`);
  }
}

const image = (state: EngineState) => JSON.stringify(toSnapshotData(state));

function checkReplay(state: EngineState, log: readonly Event[]): void {
  const replayed = initialState();
  for (const event of log) evolve(replayed, event);
  if (image(replayed) !== image(state)) throw new Error('replay differs from the live state');
  const data = JSON.parse(image(state)) as SnapshotData;
  if (image(fromSnapshotData(data)) !== image(state))
    throw new Error('snapshot round trip differs');
}

t.test('I9 and replay equality after every step', async (t) => {
  const exercised = { admitted: 0, orders: 0, closed: 0, left: 0 };
  fc.assert(
    fc.property(
      fc.array(stepArb, { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 6 }),
      // Some sales end soon after the draw, so the queue also closes by time, not only sold out.
      fc.option(fc.integer({ min: DRAW_AT + 500, max: DRAW_AT + 8_000 }), { nil: null }),
      (steps, stock, endsAt) => {
        const state = initialState();
        const log: Event[] = [];
        step(state, configureRoom({ stock, endsAt }), log);
        let at = LOBBY_AT - 500;
        steps.forEach((s, serial) => {
          // Most steps cross the lobby and the draw within a few seconds of each other.
          at += s.advanceMs + (serial === Math.floor(steps.length / 3) ? DRAW_AT - LOBBY_AT : 0);
          step(state, commandOf(s, at, serial, state), log);
          checkAdmissionOrder(state);
          checkOrdersAdmitted(state);
          checkRate(log);
          checkReplay(state, log);
        });
        for (const event of log) {
          if (event.type === 'QueueAdvanced') exercised.admitted += event.admitted;
          if (event.type === 'OrderPlaced') exercised.orders += 1;
          if (event.type === 'QueueClosed') exercised.closed += 1;
          if (event.type === 'QueueLeft') exercised.left += 1;
        }
      },
    ),
    { numRuns: 300 },
  );
  t.pass('held for every sequence');
  // A property that never meets an admission, an order or a close proves nothing about them.
  for (const [what, count] of Object.entries(exercised)) t.ok(count > 0, `${what}: ${count}`);
});
