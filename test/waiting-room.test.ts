import t from 'tap';
import { drawOrder, sha256Hex } from '../engine/core/index.js';
import { auditAdmission } from '../scripts/audit/admission.js';
import { readAdmissionOverHttp } from '../scripts/audit/admission-reader.js';
import { joinQueue, solveFor } from '../scripts/burst/waiting-room.js';
import { LiveClient } from './helpers/http-checks.js';
import { http, startStack } from './helpers/stack.js';

// The waiting room through real processes (a nats-server, an engine, two gateways): lobby →
// draw → admission at the set rate → orders → sold out → closed, and the hostile inputs (an order
// that skips the queue, a replayed or borrowed solution, a second join).

const SALE = 'wroom';
const LOBBY = ['c1', 'c2', 'c3', 'c4'];
const STOCK = 3;
const ADMIT_PER_SECOND = 2;
/** The draw is this far ahead when the sale is created: time for the lobby to fill. */
const DRAW_IN_MS = 3_000;

t.test('lobby, draw, admission, orders, sold out, closed — over two gateways', async (t) => {
  const stack = await startStack(t, {
    sales: [SALE],
    gateways: 2,
    gatewayEnv: { POW_ATTEMPTS_MAX: '50', POW_COST: '1', RATE_LIMIT_MAX: '1000' },
  });
  const [a, b] = stack.gateways.map((g) => g.url) as [string, string];
  const now = Date.now();
  const startsAt = new Date(now + DRAW_IN_MS).toISOString();
  const created = await http(`${a}/v1/admin/sales/${SALE}`, {
    method: 'PUT',
    token: stack.adminToken,
    body: {
      name: 'Waiting room',
      stock: STOCK,
      perCustomerLimit: 1,
      startsAt,
      waitingRoom: {
        lobbyOpensAt: new Date(now - 1_000).toISOString(),
        admitPerSecond: ADMIT_PER_SECOND,
        admissionTtlS: 60,
      },
    },
  });
  t.equal(created.status, 201, JSON.stringify(created.body));
  t.equal(created.body.waitingRoom.admitPerSecond, ADMIT_PER_SECOND, 'the setting shown back');

  const live = await LiveClient.open(`${b.replace('http', 'ws')}/v1/sales/${SALE}/live`);
  t.teardown(() => live.close());
  const mine = await LiveClient.open(
    `${b.replace('http', 'ws')}/v1/me/live?token=${stack.token('c1')}`,
  );
  t.teardown(() => mine.close());
  await mine.next((m) => m.type === 'ready');

  const solutions = new Map<string, string>();
  for (const [i, customer] of LOBBY.entries()) {
    const url = i % 2 === 0 ? a : b;
    const solution = await solveFor(url, stack.token(customer), SALE);
    solutions.set(customer, solution);
    const joined = await joinQueue(i % 2 === 0 ? b : a, stack.token(customer), SALE, solution);
    t.equal(joined.status, 202, `${customer} joins the lobby through the other gateway`);
    t.match(joined.body, { state: 'LOBBY', ticket: null, position: null });
  }

  await t.test('hostile input changes nothing', async (t) => {
    const again = await joinQueue(
      a,
      stack.token('c2'),
      SALE,
      await solveFor(a, stack.token('c2'), SALE),
    );
    t.equal(again.status, 202, 'joining twice: the same entry');
    t.equal((again.body as { entryId: string }).entryId, '2');
    const replayed = await joinQueue(b, stack.token('c3'), SALE, solutions.get('c3') as string);
    t.match(
      replayed.body,
      { error: 'CHALLENGE_FAILED' },
      'a spent solution, through another gateway',
    );
    const borrowed = await joinQueue(a, stack.token('c9'), SALE, solutions.get('c4') as string);
    t.match(borrowed.body, { error: 'CHALLENGE_FAILED' }, "another customer's solution");
    const garbage = await joinQueue(a, stack.token('c9'), SALE, 'not-a-payload');
    t.equal(garbage.status, 403);
    const early = await http(`${a}/v1/sales/${SALE}/orders`, {
      method: 'POST',
      token: stack.token('c1'),
      body: { quantity: 1 },
    });
    t.match(early.body, { error: 'SALE_NOT_OPEN' }, 'before the draw, the sale is not open');
    const hidden = await http(`${b}/v1/sales/${SALE}/draw`);
    t.same(Object.keys(hidden.body).sort(), ['saleId', 'seedHash'], 'no seed before the draw');
  });

  const admitting = await live.next((m) => m.type === 'queue' && m.state === 'ADMITTING');
  t.match(admitting, { saleId: SALE, admitPerSecond: ADMIT_PER_SECOND });
  const skipper = await http(`${b}/v1/sales/${SALE}/orders`, {
    method: 'POST',
    token: stack.token('skipper'),
    body: { quantity: 1 },
  });
  t.equal(skipper.status, 403, 'skipping the queue');
  t.match(skipper.body, { error: 'NOT_ADMITTED' });

  const late = await joinQueue(
    a,
    stack.token('late'),
    SALE,
    await solveFor(a, stack.token('late'), SALE),
  );
  t.match(late.body, { state: 'WAITING', ticket: LOBBY.length + 1 }, 'after the draw: the back');

  const admission = await mine.next((m) => m.type === 'admission');
  t.match(admission, { saleId: SALE, state: 'ADMITTED' }, 'c1 is told on its own socket');

  // Everyone orders once admitted, in ticket order; the stock runs out after three.
  const entries = new Map<string, { ticket: number; admittedAt?: string }>();
  for (const customer of [...LOBBY, 'late']) {
    const me = await http(`${a}/v1/sales/${SALE}/queue/me`, { token: stack.token(customer) });
    entries.set(customer, me.body);
  }
  const byTicket = [...entries.entries()].sort(([, x], [, y]) => x.ticket - y.ticket);
  let sold = 0;
  for (const [customer] of byTicket) {
    await live.next(
      (m) =>
        m.type === 'queue' && (m.serving >= entries.get(customer)!.ticket || m.state === 'CLOSED'),
    );
    const placed = await http(`${b}/v1/sales/${SALE}/orders`, {
      method: 'POST',
      token: stack.token(customer),
      body: { quantity: 1 },
    });
    if (sold < STOCK) {
      t.equal(placed.status, 201, `${customer} (ticket ${entries.get(customer)!.ticket}) buys`);
      sold += 1;
    } else t.match(placed.body, { error: 'SOLD_OUT' }, `${customer}: sold out`);
  }

  await live.next((m) => m.type === 'queue' && m.state === 'CLOSED');
  const refused = await joinQueue(
    b,
    stack.token('after'),
    SALE,
    await solveFor(b, stack.token('after'), SALE).catch(() => 'x'),
  );
  t.ok(refused.status === 409 || refused.status === 403, 'joins refused once closed');

  const draw = await http(`${a}/v1/sales/${SALE}/draw`);
  t.equal(
    sha256Hex(draw.body.seed),
    draw.body.seedHash,
    'the seed is the one whose hash was shown',
  );
  const order = drawOrder(draw.body.seed, draw.body.lobby as string[]);
  for (const customer of LOBBY) {
    const me = await http(`${b}/v1/sales/${SALE}/queue/me`, { token: stack.token(customer) });
    t.equal(
      order.indexOf(me.body.entryId) + 1,
      me.body.ticket,
      `${customer}: the draw gives its ticket`,
    );
  }
  let last = '';
  for (const [customer] of byTicket) {
    const me = await http(`${a}/v1/sales/${SALE}/queue/me`, { token: stack.token(customer) });
    if (me.body.admittedAt === undefined) continue;
    t.ok(me.body.admittedAt >= last, `${customer} admitted in ticket order`);
    last = me.body.admittedAt;
  }
  const reading = await readAdmissionOverHttp(
    { gatewayUrls: [a, b], saleId: SALE, tokenOf: (c) => stack.token(c) },
    [...LOBBY, 'late'],
  );
  for (const row of auditAdmission(reading)) {
    t.same([...row.breaches, ...row.unread], [], `audit: ${row.check}`);
    t.ok(row.checked > 0, `audit: ${row.check} looked at something`);
  }
});
