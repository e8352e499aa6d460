import { connect } from 'node:net';
import { createSigner } from 'fast-jwt';
import t, { type Test } from 'tap';
import {
  CUSTOMER_ID_CHARS_MAX,
  type ErrorCode,
  IDEMPOTENCY_KEY_CHARS_MAX,
  SALE_ID_CHARS_MAX,
} from '../engine/protocol/index.js';
import { WS_JUNK_MESSAGES_MAX } from '../gateway/live/live-sockets.js';
import { WS_FRAME_BYTES_MAX } from '../gateway/routes/live.js';
import { readOrdersStream, waitForOrdersStream } from '../scripts/client/orders-stream.js';
import { mintToken } from '../scripts/client/tokens.js';
import { expectError, type HttpAnswer, LiveClient, refusedUpgrade } from './helpers/http-checks.js';
import { createSale, http, startStack, TEST_JWT_SECRET } from './helpers/stack.js';

// I7 through HTTP and WebSocket: malformed, oversized and hostile requests to a real gateway each
// get the exact 4xx (or 503) and catalogue code, no process crashes, and nothing changes: the
// sale, the customers' units and the ORDERS stream are exactly as before.

/** BODY_BYTES_MAX's default. */
const BODY_BYTES_MAX = 4_096;
/** Fastify's router refuses path parameters longer than this before any schema sees them. */
const ROUTER_PARAM_CHARS_MAX = 100;
/** Node's default limit on the request head. */
const HEADER_BYTES_MAX = 16 * 1_024;
const CLOSE_MESSAGE_TOO_BIG = 1009;
const CLOSE_POLICY = 1008;
const OUTBOX_WAIT_MS = 10_000;
const STOCK = 10;
const LIMIT = 2;
/** What the gateway puts in X-Request-Id when the client's is unfit. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('hostile input gets an exact refusal, crashes nothing and changes nothing', async (t) => {
  const stack = await startStack(t, {
    sales: ['h', 'h2', 'ghost'],
    // Dozens of cases per second from one customer: the rate limit is the routes test's business.
    gatewayEnv: { RATE_LIMIT_MAX: '100000' },
  });
  const gateway = stack.gateways[0]!;
  const base = gateway.url;
  const wsBase = base.replace('http', 'ws');
  let engineExited = false;
  let gatewayExited = false;
  void stack.engine.exited.then(() => {
    engineExited = true;
  });
  void gateway.exited.then(() => {
    gatewayExited = true;
  });

  await createSale(stack, 'h', { stock: STOCK, perCustomerLimit: LIMIT });
  await createSale(stack, 'h2', { stock: STOCK, perCustomerLimit: LIMIT });
  const alice = stack.token('alice');
  const mallory = stack.token('mallory');
  const aliceOrder = await http(`${base}/v1/sales/h/orders`, {
    method: 'POST',
    token: alice,
    body: { quantity: 1 },
  });
  t.equal(aliceOrder.status, 201, "alice's order, the target of the cases");
  const aliceOrderId: string = aliceOrder.body.orderId;

  const snapshot = async () => ({
    h: (await http(`${base}/v1/sales/h`)).body,
    h2: (await http(`${base}/v1/sales/h2`)).body,
    alice: (await http(`${base}/v1/sales/h/me`, { token: alice })).body,
    mallory: (await http(`${base}/v1/sales/h/me`, { token: mallory })).body,
  });
  const before = await snapshot();
  t.equal(before.h.remaining, STOCK - 1);
  t.equal(before.alice.purchased, 1);
  t.equal(before.mallory.purchased, 0);
  t.equal((await waitForOrdersStream(stack.nc, 1, OUTBOX_WAIT_MS)).length, 1);

  // Requests as bytes: fetch refuses to send some of the abuse (control characters, raw
  // non-ASCII, `..` segments it would normalise away).
  const raw = (head: string, body = ''): Promise<{ status: number; body: unknown }> =>
    new Promise((resolve, reject) => {
      const socket = connect(gateway.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('end', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const statusLine = text.slice(0, text.indexOf('\r\n'));
        const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
        let parsed: unknown = payload;
        try {
          parsed = JSON.parse(payload);
        } catch {}
        resolve({ status: Number(statusLine.split(' ')[1]), body: parsed });
      });
      const length = body === '' ? '' : `content-length: ${Buffer.byteLength(body, 'latin1')}\r\n`;
      socket.end(
        `${head}\r\nhost: 127.0.0.1\r\nconnection: close\r\n${length}\r\n${body}`,
        'latin1',
      );
    });

  // A token signed with the right secret but claims the minting helper won't produce.
  const signed = (claims: Record<string, unknown>, algorithm: 'HS256' | 'HS512' = 'HS256') =>
    createSigner({ key: TEST_JWT_SECRET, algorithm, expiresIn: 3_600_000 })(claims);
  const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const inAnHour = Math.floor(Date.now() / 1000) + 3_600;
  const algNone = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice', exp: inAnHour })}.`;
  const [aliceHeader, , aliceSignature] = alice.split('.');
  const tampered = `${aliceHeader}.${base64url({ sub: 'mallory', exp: inAnHour })}.${aliceSignature}`;
  const forged = mintToken('another-secret-0123456789abcdef', { sub: 'alice' });
  const expired = mintToken(TEST_JWT_SECRET, { sub: 'alice', ttlS: -60 });
  const neverExpires = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256' })({ sub: 'alice' });

  const json = { 'content-type': 'application/json' };
  const order = (
    body: string | undefined,
    headers: Record<string, string> = json,
    authorization: string | null = `Bearer ${mallory}`,
    saleId = 'h',
  ): Promise<HttpAnswer> =>
    http(`${base}/v1/sales/${saleId}/orders`, {
      method: 'POST',
      headers: { ...headers, ...(authorization === null ? {} : { authorization }) },
      ...(body === undefined ? {} : { body }),
    });
  const orderAs = (authorization: string | null) => order('{"quantity":1}', json, authorization);
  const quantity = (value: string) => order(`{"quantity":${value}}`);
  const withKey = (key: string) => order('{"quantity":1}', { ...json, 'idempotency-key': key });
  const get = (path: string, token: string | null = mallory) =>
    http(`${base}${path}`, token === null ? {} : { token });
  const configure = (body: Record<string, unknown>, token = stack.adminToken) =>
    http(`${base}/v1/admin/sales/h`, { method: 'PUT', token, body });
  const settings = { name: 'h', stock: STOCK, perCustomerLimit: LIMIT };

  interface HostileCase {
    readonly name: string;
    readonly send: () => Promise<{ status: number; body: unknown; headers?: Headers }>;
    readonly status: number;
    readonly code: ErrorCode;
    readonly details?: Record<string, string | number>;
    readonly check?: (t: Test, answer: { headers?: Headers }) => void;
  }
  type Send = HostileCase['send'];
  const refusal =
    (status: number, code: ErrorCode) =>
    (name: string, send: Send, more: Partial<HostileCase> = {}): HostileCase => ({
      name,
      send,
      status,
      code,
      ...more,
    });
  const invalid = refusal(400, 'INVALID_REQUEST');
  const unauthorized = refusal(401, 'UNAUTHORIZED');
  const forbidden = refusal(403, 'FORBIDDEN');
  const longRequestId = 'r'.repeat(1_000);

  const cases: HostileCase[] = [
    // The body of an order.
    invalid('not JSON', () => order('{quantity:1}')),
    invalid('truncated JSON', () => order('{"quantity": 1')),
    invalid('a JSON array', () => order('[{"quantity":1}]')),
    invalid('a JSON number', () => order('1')),
    invalid('JSON null', () => order('null')),
    invalid('a JSON string', () => order('"quantity"')),
    invalid('an empty JSON body', () => order('')),
    invalid('no body at all', () => order(undefined, {})),
    invalid('JSON sent as text/plain', () =>
      order('{"quantity":1}', { 'content-type': 'text/plain' }),
    ),
    invalid('a form instead of JSON', () =>
      order('quantity=1', { 'content-type': 'application/x-www-form-urlencoded' }),
    ),
    invalid('quantity 0', () => quantity('0')),
    invalid('quantity -1', () => quantity('-1')),
    invalid('quantity 1.5', () => quantity('1.5')),
    invalid('quantity "1"', () => quantity('"1"')),
    invalid('quantity 1e9', () => quantity('1e9')),
    invalid('quantity 1e400', () => quantity('1e400')),
    invalid('quantity null', () => quantity('null')),
    invalid('quantity true', () => quantity('true')),
    invalid('quantity a huge numeric string', () => quantity(`"${'9'.repeat(3_000)}"`)),
    invalid('no quantity', () => order('{}')),
    invalid('an unknown field', () => order('{"quantity":1,"price":0}')),
    invalid('a __proto__ key', () => order('{"quantity":1,"__proto__":{"admin":true}}')),
    invalid('a constructor.prototype key', () =>
      order('{"quantity":1,"constructor":{"prototype":{"admin":true}}}'),
    ),
    invalid(`a body over ${BODY_BYTES_MAX} bytes`, () =>
      order(JSON.stringify({ quantity: 1, pad: 'x'.repeat(BODY_BYTES_MAX) })),
    ),
    invalid('deeply nested arrays', () =>
      order(`{"quantity":1,"a":${'['.repeat(1_500)}${']'.repeat(1_500)}}`),
    ),

    // Who is calling.
    unauthorized('no token', () => orderAs(null)),
    unauthorized('Basic, not Bearer', () => orderAs('Basic YWxpY2U6eA==')),
    unauthorized('a token without a scheme', () => orderAs(mallory)),
    unauthorized('two spaces after Bearer', () => orderAs(`Bearer  ${mallory}`)),
    unauthorized('Bearer and garbage', () => orderAs('Bearer $$$garbage$$$')),
    unauthorized('three junk segments', () => orderAs('Bearer a.b.c')),
    unauthorized('Bearer and nothing', () => orderAs('Bearer')),
    unauthorized('a forged signature', () => orderAs(`Bearer ${forged}`)),
    unauthorized('a tampered payload', () => orderAs(`Bearer ${tampered}`)),
    unauthorized('an expired token', () => orderAs(`Bearer ${expired}`)),
    unauthorized('alg "none"', () => orderAs(`Bearer ${algNone}`)),
    unauthorized('no exp (a token good for ever)', () => orderAs(`Bearer ${neverExpires}`)),
    unauthorized('HS512, not the pinned HS256', () =>
      orderAs(`Bearer ${signed({ sub: 'mallory' }, 'HS512')}`),
    ),
    unauthorized('not valid for an hour (nbf)', () =>
      orderAs(`Bearer ${signed({ sub: 'mallory', nbf: inAnHour })}`),
    ),
    unauthorized('no sub', () => orderAs(`Bearer ${signed({ role: 'admin' })}`)),
    unauthorized('an empty sub', () => orderAs(`Bearer ${signed({ sub: '' })}`)),
    unauthorized('a numeric sub', () => orderAs(`Bearer ${signed({ sub: 42 })}`)),
    unauthorized(`a sub over ${CUSTOMER_ID_CHARS_MAX} characters`, () =>
      orderAs(`Bearer ${signed({ sub: 'm'.repeat(CUSTOMER_ID_CHARS_MAX + 1) })}`),
    ),

    // What the caller may do.
    forbidden('a customer on the admin route', () =>
      configure({ ...settings, stock: 1_000 }, mallory),
    ),
    forbidden('role "ADMIN", not "admin"', () =>
      configure({ ...settings, stock: 1_000 }, signed({ sub: 'm', role: 'ADMIN' })),
    ),
    forbidden('role ["admin"]', () =>
      configure({ ...settings, stock: 1_000 }, signed({ sub: 'm', role: ['admin'] })),
    ),
    unauthorized('no token on the admin route', () =>
      http(`${base}/v1/admin/sales/h`, { method: 'PUT', body: settings }),
    ),
    forbidden("another customer's order", () => get(`/v1/orders/${aliceOrderId}`)),

    // Ids in the path: a saleId becomes part of NATS subjects.
    invalid("saleId with '.'", () => raw('GET /v1/sales/h.cmd HTTP/1.1')),
    invalid("saleId '*'", () => raw('GET /v1/sales/* HTTP/1.1')),
    invalid("saleId '>'", () => get('/v1/sales/%3E')),
    invalid('saleId with %2F', () => get('/v1/sales/h%2Fcmd')),
    invalid("saleId '..'", () => raw('GET /v1/sales/.. HTTP/1.1')),
    invalid("saleId '%2E%2E'", () => raw('GET /v1/sales/%2E%2E HTTP/1.1')),
    invalid('saleId with %00', () => get('/v1/sales/h%00')),
    invalid('saleId with a bad %-escape', () => raw('GET /v1/sales/h%ZZ HTTP/1.1')),
    invalid(`saleId of ${SALE_ID_CHARS_MAX + 1} characters`, () =>
      get(`/v1/sales/${'s'.repeat(SALE_ID_CHARS_MAX + 1)}`),
    ),
    invalid(`saleId over the router's ${ROUTER_PARAM_CHARS_MAX} characters`, () =>
      get(`/v1/sales/${'s'.repeat(ROUTER_PARAM_CHARS_MAX * 2)}`),
    ),
    invalid('saleId in unicode', () => get('/v1/sales/caf%C3%A9')),
    invalid('a raw non-ASCII path', () => raw('GET /v1/sales/caf\u00e9 HTTP/1.1')),
    invalid("ordering in saleId 'h.cmd'", () => order('{"quantity":1}', json, undefined, 'h.cmd')),
    invalid("orderId without '~'", () => get('/v1/orders/h-1')),
    invalid("orderId '~0'", () => get('/v1/orders/h~0')),
    invalid("orderId '~01'", () => get('/v1/orders/h~01')),
    invalid('orderId with two separators', () => get('/v1/orders/h~1~1')),
    invalid('orderId with no sale', () => get('/v1/orders/~1')),
    invalid('orderId of 17 digits', () => get(`/v1/orders/h~${'9'.repeat(17)}`)),
    refusal(404, 'ORDER_NOT_FOUND')("alice's order number under another sale", () =>
      get(`/v1/orders/h2~${aliceOrderId.split('~')[1]}`, alice),
    ),
    refusal(404, 'SALE_NOT_FOUND')('an orderId of a sale that was never created', () =>
      get('/v1/orders/elsewhere~1'),
    ),

    // Headers.
    invalid(`Idempotency-Key over ${IDEMPOTENCY_KEY_CHARS_MAX} characters`, () =>
      withKey('k'.repeat(IDEMPOTENCY_KEY_CHARS_MAX + 1)),
    ),
    invalid('Idempotency-Key with a space', () => withKey('a b')),
    invalid('Idempotency-Key with a tab', () => withKey('a\tb')),
    invalid('an empty Idempotency-Key', () => withKey('')),
    invalid('Idempotency-Key in Latin-1', () => withKey('cl\u00e9')),
    invalid('Idempotency-Key with a control character', () =>
      raw(
        `POST /v1/sales/h/orders HTTP/1.1\r\nauthorization: Bearer ${mallory}\r\n` +
          'content-type: application/json\r\nidempotency-key: a\x01b',
        '{"quantity":1}',
      ),
    ),
    invalid(`headers over ${HEADER_BYTES_MAX} bytes`, () =>
      raw(`GET /v1/sales/h HTTP/1.1\r\nx-pad: ${'p'.repeat(HEADER_BYTES_MAX)}`),
    ),
    invalid(
      'a 1,000-character X-Request-Id',
      () => order('{"quantity":0}', { ...json, 'x-request-id': longRequestId }),
      {
        check: (t, { headers }) =>
          t.match(headers?.get('x-request-id'), UUID, 'not echoed back: a fresh id instead'),
      },
    ),
    refusal(404, 'NOT_FOUND')(
      'an X-Request-Id with markup',
      () => http(`${base}/v1/no-such-route`, { headers: { 'x-request-id': '<script>x</script>' } }),
      {
        check: (t, { headers }) =>
          t.match(headers?.get('x-request-id'), UUID, 'markup is not echoed back'),
      },
    ),

    // The admin body.
    invalid('stock -1', () => configure({ ...settings, stock: -1 })),
    invalid('stock "10"', () => configure({ ...settings, stock: '10' })),
    invalid('stock 1.5', () => configure({ ...settings, stock: 1.5 })),
    invalid('stock below what is sold', () => configure({ ...settings, stock: 0 }), {
      details: { sold: 1 },
    }),
    invalid('perCustomerLimit 0', () => configure({ ...settings, perCustomerLimit: 0 })),
    invalid('startsAt "tomorrow"', () => configure({ ...settings, startsAt: 'tomorrow' })),
    invalid('startsAt on 30 February', () =>
      configure({ ...settings, startsAt: '2030-02-30T00:00:00Z' }),
    ),
    invalid('endsAt before startsAt', () =>
      configure({ ...settings, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }),
    ),
    invalid('an unknown admin field', () => configure({ ...settings, price: 1 })),
    invalid('a blank name', () => configure({ ...settings, name: '   ' })),
    invalid('no name', () => configure({ stock: STOCK, perCustomerLimit: LIMIT })),

    // Routes and methods.
    refusal(404, 'NOT_FOUND')('DELETE a sale', () =>
      http(`${base}/v1/sales/h`, { method: 'DELETE' }),
    ),
    invalid('a live route without Upgrade', () => get('/v1/sales/h/live', null)),

    // WebSocket upgrades, refused before any socket opens.
    unauthorized('me/live without a token', () => refusedUpgrade(`${wsBase}/v1/me/live`)),
    unauthorized('me/live with a forged token', () =>
      refusedUpgrade(`${wsBase}/v1/me/live`, { authorization: `Bearer ${forged}` }),
    ),
    unauthorized('me/live with an expired ?token=', () =>
      refusedUpgrade(`${wsBase}/v1/me/live?token=${expired}`),
    ),
    unauthorized('me/live with ?token=garbage', () =>
      refusedUpgrade(`${wsBase}/v1/me/live?token=garbage`),
    ),
    invalid('me/live with an unknown query field', () =>
      refusedUpgrade(`${wsBase}/v1/me/live?token=${mallory}&as=alice`),
    ),
    invalid("sale live for saleId 'h.cmd'", () => refusedUpgrade(`${wsBase}/v1/sales/h.cmd/live`)),
    refusal(404, 'SALE_NOT_FOUND')('sale live for a sale nobody configured', () =>
      refusedUpgrade(`${wsBase}/v1/sales/ghost/live`),
    ),
  ];

  await t.test(`${cases.length} hostile HTTP requests`, async (t) => {
    t.ok(cases.length >= 40, 'at least 40 cases');
    t.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'every case is distinct');
    for (const hostile of cases) {
      const answer = await hostile.send();
      expectError(t, answer, hostile.status, hostile.code, hostile.details ?? {}, hostile.name);
      hostile.check?.(t, answer);
    }
  });

  await t.test('a live socket answers junk with errors, and closes on abuse', async (t) => {
    const live = await LiveClient.open(`${wsBase}/v1/sales/h/live`);
    t.teardown(() => live.close());
    t.match(await live.next((m) => m.type === 'stock'), { saleId: 'h', remaining: STOCK - 1 });
    const junk = ['junk', '{"type":"buy","quantity":1}', '\u0000\u0001', Buffer.from([0xff, 0xfe])];
    for (const frame of junk) live.socket.send(frame);
    const errors = () => live.messages.filter((m) => m.type === 'error');
    await live.next(() => errors().length === junk.length);
    for (const message of errors())
      t.same(Object.keys(message).sort(), ['error', 'message', 'type']);
    t.ok(
      errors().every((m) => m.error === 'INVALID_REQUEST'),
      'each junk frame: INVALID_REQUEST',
    );
    for (let i = junk.length; i < WS_JUNK_MESSAGES_MAX; i += 1) live.socket.send('more junk');
    t.equal((await live.closed).code, CLOSE_POLICY, 'a client that keeps sending junk is cut off');

    const big = await LiveClient.open(`${wsBase}/v1/sales/h/live`);
    await big.next((m) => m.type === 'stock');
    big.socket.send('x'.repeat(WS_FRAME_BYTES_MAX + 1));
    t.equal((await big.closed).code, CLOSE_MESSAGE_TOO_BIG, `a frame over ${WS_FRAME_BYTES_MAX} B`);

    const me = await LiveClient.open(`${wsBase}/v1/me/live?token=${mallory}`);
    await me.next((m) => m.type === 'ready');
    me.socket.send('{"type":"subscribe","customerId":"alice"}');
    t.equal((await me.next((m) => m.type === 'error')).error, 'INVALID_REQUEST');
    me.close();
  });

  await t.test('nothing crashed and nothing changed', async (t) => {
    t.equal(engineExited, false, 'the engine is still running');
    t.equal(gatewayExited, false, 'the gateway is still running');
    t.equal((await http(`${base}/health/ready`)).status, 200, 'the gateway answers');
    t.same(await snapshot(), before, 'sales and customers exactly as before');
    t.equal((await readOrdersStream(stack.nc)).length, 1, 'ORDERS holds only the one real order');
    // Order ids are sequential per sale: the next order being h~2 proves none was made between.
    const next = await http(`${base}/v1/sales/h/orders`, {
      method: 'POST',
      token: stack.token('sentinel'),
      body: { quantity: 1 },
    });
    t.equal(next.status, 201, 'the engine still takes orders');
    t.equal(next.body.orderId, 'h~2', 'no order was created by any hostile request');
    const stored = await waitForOrdersStream(stack.nc, 2, OUTBOX_WAIT_MS);
    t.same(
      stored.map((o) => o.msgId),
      [aliceOrderId, 'h~2'],
      'and ORDERS holds exactly the two real orders',
    );
  });
});
