import t from 'tap';
import { joinQueue, solveFor } from '../scripts/burst/waiting-room.js';
import { LiveClient } from './helpers/http-checks.js';
import { http, startStack } from './helpers/stack.js';

// Bad input on the waiting room's routes: always a clear 4xx with a code, never a change.

const ROOM = 'wq-room';
const PLAIN = 'wq-plain';
const LATER = 'wq-later';

t.test('the waiting room refuses bad input with a code', async (t) => {
  const stack = await startStack(t, {
    sales: [ROOM, PLAIN, LATER],
    gatewayEnv: { POW_ATTEMPTS_MAX: '20', POW_COST: '1', RATE_LIMIT_MAX: '1000' },
  });
  const [gw] = stack.gateways.map((g) => g.url) as [string];
  const hour = 3_600_000;
  const now = Date.now();
  const put = (saleId: string, body: unknown) =>
    http(`${gw}/v1/admin/sales/${saleId}`, { method: 'PUT', token: stack.adminToken, body });
  const base = { name: 'Q', stock: 5, perCustomerLimit: 1 };
  const room = (lobbyMs: number) => ({
    lobbyOpensAt: new Date(lobbyMs).toISOString(),
    admitPerSecond: 5,
    admissionTtlS: 60,
  });
  const startsAt = new Date(now + hour).toISOString();

  await t.test('the setting', async (t) => {
    const noStart = await put(ROOM, { ...base, waitingRoom: room(now) });
    t.match(noStart, { status: 400, body: { error: 'INVALID_REQUEST', message: /startsAt/ } });
    const late = await put(ROOM, { ...base, startsAt, waitingRoom: room(now + 2 * hour) });
    t.match(late, { status: 400, body: { error: 'INVALID_REQUEST' } }, 'lobby after the draw');
    const zero = await put(ROOM, {
      ...base,
      startsAt,
      waitingRoom: { ...room(now), admitPerSecond: 0 },
    });
    t.match(zero, { status: 400, body: { error: 'INVALID_REQUEST' } });
    const extra = await put(ROOM, { ...base, startsAt, waitingRoom: { ...room(now), vip: true } });
    t.match(extra, { status: 400, body: { error: 'INVALID_REQUEST' } }, 'unknown fields');
    t.equal((await put(ROOM, { ...base, startsAt, waitingRoom: room(now) })).status, 201);
    t.equal((await put(PLAIN, base)).status, 201);
    t.equal(
      (await put(LATER, { ...base, startsAt, waitingRoom: room(now + hour / 2) })).status,
      201,
    );
    const live = await LiveClient.open(`${gw.replace('http', 'ws')}/v1/sales/${ROOM}/live`);
    await live.next((m) => m.type === 'queue' && m.state === 'LOBBY');
    live.close();
    const moved = await put(ROOM, {
      ...base,
      startsAt: new Date(now + 2 * hour).toISOString(),
      waitingRoom: room(now),
    });
    t.match(
      moved.body,
      { error: 'INVALID_REQUEST' },
      'the draw time is fixed once the lobby is open',
    );
  });

  await t.test('challenges', async (t) => {
    t.equal((await http(`${gw}/v1/sales/${ROOM}/queue/challenge`)).status, 401, 'no token');
    const token = stack.token('q1');
    const unknown = await http(`${gw}/v1/sales/nope/queue/challenge`, { token });
    t.match(unknown, { status: 404, body: { error: 'SALE_NOT_FOUND' } });
    const plain = await http(`${gw}/v1/sales/${PLAIN}/queue/challenge`, { token });
    t.match(plain, { status: 400, body: { error: 'INVALID_REQUEST', message: /waiting room/ } });
  });

  await t.test('joins', async (t) => {
    const token = stack.token('q2');
    const url = `${gw}/v1/sales/${ROOM}/queue`;
    t.match(await http(url, { method: 'POST', token, body: {} }), {
      status: 400,
      body: { error: 'INVALID_REQUEST' },
    });
    const long = await http(url, { method: 'POST', token, body: { solution: 'x'.repeat(3_000) } });
    t.match(long, { status: 400, body: { error: 'INVALID_REQUEST' } });
    const junk = await http(url, { method: 'POST', token, body: { solution: '%%%' } });
    t.match(junk, { status: 403, body: { error: 'CHALLENGE_FAILED' } });
    const early = await joinQueue(gw, token, LATER, await solveFor(gw, token, LATER));
    t.match(early, { status: 409, body: { error: 'SALE_NOT_OPEN' } }, 'before the lobby opens');
    const elsewhere = await joinQueue(gw, token, ROOM, await solveFor(gw, token, LATER));
    t.match(
      elsewhere,
      { status: 403, body: { error: 'CHALLENGE_FAILED' } },
      "another sale's challenge",
    );
    const me = await http(`${gw}/v1/sales/${ROOM}/queue/me`, { token });
    t.match(
      me,
      { status: 403, body: { error: 'NOT_ADMITTED' } },
      'nothing changed: not in the queue',
    );
    const leave = await http(url, { method: 'DELETE', token });
    t.match(
      leave,
      { status: 400, body: { error: 'INVALID_REQUEST' } },
      'leaving a queue never joined',
    );
  });

  await t.test('the draw and the document', async (t) => {
    t.match(await http(`${gw}/v1/sales/nope/draw`), {
      status: 404,
      body: { error: 'SALE_NOT_FOUND' },
    });
    t.match(await http(`${gw}/v1/sales/${PLAIN}/draw`), { status: 400 });
    const widget = await http(`${gw}/altcha.js`);
    t.equal(widget.status, 200, 'the ALTCHA widget is served by the gateway');
    t.match(String(widget.body), /altcha-widget/);
    t.match(String((await http(`${gw}/`)).body), /src="\/altcha\.js"/, 'and the page loads it');
    const openapi = await http(`${gw}/docs/openapi.json`);
    for (const path of ['/queue', '/queue/challenge', '/queue/me', '/draw'])
      t.ok(openapi.body.paths[`/v1/sales/{saleId}${path}`], `OpenAPI has ${path}`);
  });
});
