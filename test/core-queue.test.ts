import t from 'tap';
import {
  type Event,
  evolve,
  initialState,
  viewDraw,
  viewQueue,
  viewQueueEntry,
} from '../engine/core/index.js';
import { order, step } from './helpers/core.js';
import { given } from './helpers/decider-spec.js';
import {
  configured,
  configureRoom,
  DRAW_AT,
  drawn,
  join,
  joined,
  LOBBY_AT,
  leave,
  opened,
  SALE,
  SEED,
  SEED_HASH,
  tick,
} from './helpers/queue.js';

// One example per rule of the waiting room (DESIGN.md, "Waiting room"; I9), as events in the log.

const stateOf = (history: readonly Event[]) => {
  const state = initialState();
  for (const event of history) evolve(state, event);
  return state;
};

t.test('a waiting room needs startsAt, a lobby before it and sane numbers', async (t) => {
  const noStart = { ...configureRoom(), startsAt: null };
  given([]).when(noStart).thenRefused(t, 'INVALID_REQUEST');
  const late = configureRoom({ room: { lobbyOpensAt: DRAW_AT + 1 } });
  given([]).when(late).thenRefused(t, 'INVALID_REQUEST');
  given([])
    .when(configureRoom({ room: { admitPerSecond: 0 } }))
    .thenRefused(t, 'INVALID_REQUEST');
  given([])
    .when(configureRoom({ room: { admissionTtlS: 0 } }))
    .thenRefused(t, 'INVALID_REQUEST');
  given([]).when(configureRoom()).thenEvents(t, [configured()], 'the setting is in the event');
  given([configured()]).when(configureRoom()).thenEvents(t, [], 'the same again: nothing');
});

t.test('once the lobby is open, its moment and the draw time stay', async (t) => {
  const history = [configured(), opened()];
  given(history)
    .when({ ...configureRoom(), startsAt: DRAW_AT + 1 })
    .thenRefused(t, 'INVALID_REQUEST');
  const { waitingRoom: _room, ...without } = configureRoom();
  given(history).when(without).thenRefused(t, 'INVALID_REQUEST');
  const faster = configureRoom({ room: { admitPerSecond: 8 } });
  t.ok(given(history).when(faster).decision.ok, 'the rate may change');
});

t.test('before the lobby opens a join is SALE_NOT_OPEN', async (t) => {
  given([configured()])
    .when(join('c1', LOBBY_AT - 1))
    .thenRefused(t, 'SALE_NOT_OPEN');
});

t.test('the first join after lobbyOpensAt opens the lobby with the shell seed', async (t) => {
  given([configured()])
    .when(join('c1', LOBBY_AT + 5))
    .thenEvents(t, [opened(LOBBY_AT + 5), joined('c1', LOBBY_AT + 5)]);
});

t.test('a tick opens the lobby, publishing only the seed hash', async (t) => {
  given([configured()]).when(tick(LOBBY_AT)).thenEvents(t, [opened()]);
  const state = stateOf([configured(), opened()]);
  t.same(viewDraw(state, SALE), { saleId: SALE, seedHash: SEED_HASH }, 'no seed before the draw');
  t.equal(viewQueue(state, SALE, LOBBY_AT)?.state, 'LOBBY');
});

t.test('joining twice gives the same entry; a spent solution is CHALLENGE_FAILED', async (t) => {
  const history = [configured(), opened(), joined('c1', LOBBY_AT + 1)];
  const again = given(history).when(join('c1', LOBBY_AT + 2, 'another'));
  again.thenEvents(t, [], 'no new entry');
  t.match(again.decision, { ok: true, outcome: { type: 'QueueEntered', joined: false } });
  given(history)
    .when(join('c1', LOBBY_AT + 2))
    .thenRefused(t, 'CHALLENGE_FAILED');
  given(history)
    .when(join('c2', LOBBY_AT + 2, 's-c1'))
    .thenRefused(t, 'CHALLENGE_FAILED');
});

t.test(
  'the draw at startsAt gives the lobby 1…L in the seeded order; later ones FIFO',
  async (t) => {
    const lobby = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const history: Event[] = [
      configured(),
      opened(),
      ...lobby.map((c, i) => joined(c, LOBBY_AT + i)),
    ];
    given(history).when(tick(DRAW_AT)).thenEvents(t, [drawn()]);
    given(history)
      .when(join('late', DRAW_AT + 1))
      .thenEvents(t, [drawn(DRAW_AT + 1), joined('late', DRAW_AT + 1)], 'a late join draws first');
    const state = stateOf([...history, drawn(), joined('late', DRAW_AT + 1)]);
    const tickets = lobby.map((c) => viewQueueEntry(state, SALE, c, DRAW_AT)?.ticket);
    t.same([...tickets].sort(), [1, 2, 3, 4, 5], 'the lobby holds tickets 1…5');
    t.equal(viewQueueEntry(state, SALE, 'late', DRAW_AT)?.ticket, 6, 'the late one is 6');
    const draw = viewDraw(state, SALE);
    t.match(draw, { seed: SEED, seedHash: SEED_HASH, lobby: ['1', '2', '3', '4', '5'] });
  },
);

t.test('admission follows tickets at the set rate, never faster in any second', async (t) => {
  const customers = Array.from({ length: 12 }, (_, i) => `c${i + 1}`);
  const history: Event[] = [
    configured(),
    opened(),
    drawn(),
    ...customers.map((c, i) => joined(c, DRAW_AT + i)),
  ];
  const first = given(history).when(tick(DRAW_AT + 20));
  // A burst's worth at the draw: 4/s × 250 ms = 1 admission.
  first.thenEvents(t, [
    { type: 'QueueAdvanced', saleId: SALE, serving: 1, admitted: 1, at: DRAW_AT + 20 },
  ]);
  const state = stateOf(history);
  let admitted = 0;
  for (let at = DRAW_AT + 20; at <= DRAW_AT + 1_020; at += 50) {
    const decision = step(state, tick(at));
    if (decision.ok && decision.outcome.type === 'QueueTicked')
      admitted += decision.outcome.admitted.length;
  }
  t.ok(admitted <= 4, `at most 4 admitted within a second (${admitted})`);
  t.ok(admitted >= 4, 'and the rate is reached');
  const pause = step(state, tick(DRAW_AT + 60_000));
  t.match(pause, { ok: true, outcome: { admitted: ['c5'] } }, 'no catch-up after a pause: one');
});

t.test(
  'an order before admission is NOT_ADMITTED with the position; after it, accepted',
  async (t) => {
    const history: Event[] = [configured(), opened(), joined('c1', LOBBY_AT + 1), drawn()];
    given(history)
      .when(order(SALE, 'c1', 1, { at: DRAW_AT }))
      .thenRefused(t, 'NOT_ADMITTED');
    given(history)
      .when(order(SALE, 'x', 1, { at: DRAW_AT }))
      .thenRefused(t, 'NOT_ADMITTED');
    given(history)
      .when(order(SALE, 'c1', 1))
      .thenRefused(t, 'SALE_NOT_OPEN');
    const behind: Event[] = [...history, joined('c2', DRAW_AT + 1)];
    given(behind)
      .when({ ...order(SALE, 'c2', 1), at: DRAW_AT + 2 })
      .thenRefused(t, 'NOT_ADMITTED', { position: 2 });
    const admitted: Event[] = [
      ...history,
      { type: 'QueueAdvanced', saleId: SALE, serving: 1, admitted: 1, at: DRAW_AT + 5 },
    ];
    const ok = given(admitted).when({ ...order(SALE, 'c1', 1), at: DRAW_AT + 6 });
    t.ok(ok.decision.ok, 'admitted: the order is placed');
    given(admitted)
      .when({ ...order(SALE, 'c1', 1), at: DRAW_AT + 5 + 60_000 })
      .thenRefused(t, 'NOT_ADMITTED', { position: 0 });
    t.equal(viewQueueEntry(stateOf(admitted), SALE, 'c1', DRAW_AT + 5 + 60_000)?.state, 'EXPIRED');
  },
);

t.test('SOLD_OUT comes before NOT_ADMITTED; the queue closes and refuses joins', async (t) => {
  const history: Event[] = [
    { ...configured(), stock: 0 } as Event,
    opened(),
    joined('c1', LOBBY_AT + 1),
    drawn(),
  ];
  given(history)
    .when({ ...order(SALE, 'c2', 1), at: DRAW_AT + 1 })
    .thenRefused(t, 'SOLD_OUT');
  given(history)
    .when(tick(DRAW_AT + 1))
    .thenEvents(t, [{ type: 'QueueClosed', saleId: SALE, at: DRAW_AT + 1 }]);
  const closing = given(history).when(tick(DRAW_AT + 1)).decision;
  t.match(closing, { outcome: { closed: ['c1'] } }, 'those still waiting are named, to be told');
  given(history)
    .when(join('c3', DRAW_AT + 2))
    .thenRefused(t, 'SOLD_OUT');
  const closed = stateOf([...history, { type: 'QueueClosed', saleId: SALE, at: DRAW_AT + 1 }]);
  t.equal(viewQueueEntry(closed, SALE, 'c1', DRAW_AT + 2)?.state, 'CLOSED', 'everyone told');
  t.equal(viewQueue(closed, SALE, DRAW_AT + 2)?.state, 'CLOSED');
});

t.test('leaving: counted off, skipped at admission without using the rate', async (t) => {
  const history: Event[] = [
    configured(),
    opened(),
    drawn(),
    joined('c1', DRAW_AT + 1),
    joined('c2', DRAW_AT + 2),
  ];
  given(history)
    .when(leave('c1', DRAW_AT + 3))
    .thenEvents(t, [{ type: 'QueueLeft', saleId: SALE, customerId: 'c1', at: DRAW_AT + 3 }]);
  given(history)
    .when(leave('nobody', DRAW_AT + 3))
    .thenRefused(t, 'INVALID_REQUEST');
  const left: Event[] = [
    ...history,
    { type: 'QueueLeft', saleId: SALE, customerId: 'c1', at: DRAW_AT + 3 },
  ];
  t.equal(viewQueue(stateOf(left), SALE, DRAW_AT + 3)?.waiting, 1);
  given(left)
    .when(tick(DRAW_AT + 4))
    .thenEvents(t, [
      { type: 'QueueAdvanced', saleId: SALE, serving: 2, admitted: 1, at: DRAW_AT + 4 },
    ]);
  given(left)
    .when(leave('c1', DRAW_AT + 5))
    .thenEvents(t, [], 'leaving twice: nothing');
});

t.test('a sale without a waiting room: ticks write nothing, orders as ever', async (t) => {
  const plain: Event = { ...configured(), waitingRoom: undefined } as Event;
  const { waitingRoom: _room, ...settings } = plain as Extract<Event, { type: 'SaleConfigured' }>;
  const history: Event[] = [settings];
  const ticked = given(history).when(tick(DRAW_AT));
  ticked.thenEvents(t, []);
  t.match(ticked.decision, { outcome: { active: false } });
  t.ok(given(history).when({ ...order(SALE, 'c1', 1), at: DRAW_AT }).decision.ok);
  given(history).when(join('c1', DRAW_AT)).thenRefused(t, 'INVALID_REQUEST');
});
