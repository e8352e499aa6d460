import t from 'tap';
import { joinQueue, solveFor } from '../scripts/burst/waiting-room.js';
import { LiveClient } from './helpers/http-checks.js';
import { http, startStack } from './helpers/stack.js';

// What a customer's own socket (/v1/me/live) is told by a waiting room, through real processes
// (a nats-server, an engine, two gateways): an admitted customer who does not buy hears EXPIRED
// once admissionTtlS has run out, and those still waiting when the sale sells out hear CLOSED.
// Everyone joins after the draw, so tickets follow the order of the joins: the idler, the buyer,
// then the waiters; one admission a second leaves the buyer several seconds to buy before the
// last waiter could be let in, however slow the machine.

const SALE = 'wnotice';
const IDLER = 'idler';
const BUYER = 'buyer';
const WAITERS = ['w1', 'w2', 'w3', 'w4', 'w5'];
const ADMISSION_TTL_S = 2;
/** The draw is this far ahead when the sale is created (its lobby stays empty). */
const DRAW_IN_MS = 1_000;

/** A notice that has not come this long after it is due has not been sent: the test fails. */
const NOTICE_WAIT_MS_MAX = 15_000;

// biome-ignore lint/suspicious/noExplicitAny: messages are JSON read field by field
const isAdmission = (state: string) => (m: any) => m.type === 'admission' && m.state === state;

/** The socket's first message that matches, or a failure after NOTICE_WAIT_MS_MAX. */
// biome-ignore lint/suspicious/noExplicitAny: see isAdmission
function heard(socket: LiveClient, what: string, match: (m: any) => boolean): Promise<any> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} never came: ${JSON.stringify(socket.messages)}`)),
      NOTICE_WAIT_MS_MAX,
    );
  });
  return Promise.race([socket.next(match), late]).finally(() => clearTimeout(timer));
}

t.test('me/live: EXPIRED after admissionTtlS, CLOSED for those waiting at sold out', async (t) => {
  const stack = await startStack(t, {
    sales: [SALE],
    gateways: 2,
    gatewayEnv: { POW_ATTEMPTS_MAX: '50', POW_COST: '1', RATE_LIMIT_MAX: '1000' },
  });
  const [a, b] = stack.gateways.map((g) => g.url) as [string, string];
  const now = Date.now();
  const created = await http(`${a}/v1/admin/sales/${SALE}`, {
    method: 'PUT',
    token: stack.adminToken,
    body: {
      name: 'Notices',
      stock: 1,
      perCustomerLimit: 1,
      startsAt: new Date(now + DRAW_IN_MS).toISOString(),
      waitingRoom: {
        lobbyOpensAt: new Date(now - 1_000).toISOString(),
        admitPerSecond: 1,
        admissionTtlS: ADMISSION_TTL_S,
      },
    },
  });
  t.equal(created.status, 201, JSON.stringify(created.body));

  const live = await LiveClient.open(`${b.replace('http', 'ws')}/v1/sales/${SALE}/live`);
  t.teardown(() => live.close());
  await live.next((m) => m.type === 'queue' && m.state === 'ADMITTING');

  const sockets = new Map<string, LiveClient>();
  for (const customer of [IDLER, BUYER, ...WAITERS]) {
    const socket = await LiveClient.open(
      `${b.replace('http', 'ws')}/v1/me/live?token=${stack.token(customer)}`,
    );
    t.teardown(() => socket.close());
    await socket.next((m) => m.type === 'ready');
    sockets.set(customer, socket);
  }
  const socketOf = (customer: string) => sockets.get(customer) as LiveClient;

  for (const [i, customer] of [IDLER, BUYER, ...WAITERS].entries()) {
    const token = stack.token(customer);
    const joined = await joinQueue(a, token, SALE, await solveFor(a, token, SALE));
    t.equal(joined.status, 202, `${customer} joins`);
    t.equal((joined.body as { ticket: number }).ticket, i + 1, `${customer}: ticket ${i + 1}`);
  }

  await heard(socketOf(BUYER), "the buyer's admission", isAdmission('ADMITTED'));
  const bought = await http(`${a}/v1/sales/${SALE}/orders`, {
    method: 'POST',
    token: stack.token(BUYER),
    body: { quantity: 1 },
  });
  t.equal(bought.status, 201, 'the buyer takes the only unit once admitted');
  await live.next((m) => m.type === 'queue' && m.state === 'CLOSED');

  await t.test('the idler is told EXPIRED once its admission runs out', async (t) => {
    const admitted = await heard(socketOf(IDLER), 'ADMITTED', isAdmission('ADMITTED'));
    const expired = await heard(socketOf(IDLER), 'EXPIRED', isAdmission('EXPIRED'));
    const heardAt = Date.now();
    t.match(expired, { saleId: SALE, admittedUntil: admitted.admittedUntil });
    t.ok(heardAt >= Date.parse(admitted.admittedUntil), 'not before admittedUntil');
    const me = await http(`${a}/v1/sales/${SALE}/queue/me`, { token: stack.token(IDLER) });
    t.equal(me.body.state, 'EXPIRED', 'queue/me agrees');
    t.notOk(
      socketOf(IDLER).messages.some(isAdmission('CLOSED')),
      'an admitted customer is not told CLOSED',
    );
  });

  await t.test('everyone still waiting at sold out is told CLOSED', async (t) => {
    let closed = 0;
    for (const waiter of WAITERS) {
      const me = await http(`${b}/v1/sales/${SALE}/queue/me`, { token: stack.token(waiter) });
      if (me.body.state === 'ADMITTED' || me.body.state === 'EXPIRED') continue;
      t.equal(me.body.state, 'CLOSED', `${waiter}: its place is closed`);
      const notice = await heard(
        socketOf(waiter),
        `${waiter}'s notice`,
        (m) => m.type === 'admission',
      );
      t.match(notice, { saleId: SALE, state: 'CLOSED', position: null }, `${waiter}: told CLOSED`);
      closed += 1;
    }
    t.ok(closed >= WAITERS.length - 1, `${closed} waiters closed (at most one let in first)`);
    const last = WAITERS.at(-1) as string;
    t.ok(socketOf(last).messages.some(isAdmission('CLOSED')), 'the last ticket heard CLOSED');
    t.notOk(socketOf(BUYER).messages.some(isAdmission('CLOSED')), 'the buyer is not told CLOSED');
  });
});
