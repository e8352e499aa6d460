import { setTimeout as delay } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import t from 'tap';
import { SALE_CATALOGUE_BUCKET } from '../engine/protocol/index.js';
import {
  expectError,
  expectRetryAfter,
  LiveClient,
  metricValue,
  scrapeMetrics,
} from './helpers/http-checks.js';
import { createSale, http, startGateway, startStack } from './helpers/stack.js';

// Every route of DESIGN.md's HTTP API, and every code of its error table, through real gateway
// processes, a real engine and NATS. One stack for the file; two extra gateways with small limits
// reach RATE_LIMITED and OVERLOADED.

const HOUR_MS = 3_600_000;
/** The rate-limited gateway: a few requests per customer per minute, so a slow run can't reset it. */
const RATE_LIMIT_MAX = 3;
const RATE_LIMIT_WINDOW_MS = 60_000;
/** The shedding gateway: one engine request at a time, and long enough that it never times out. */
const SHEDDING_INFLIGHT_MAX = 1;
const SHEDDING_ENGINE_TIMEOUT_MS = 30_000;
const CONCURRENT_ORDERS = 50;
const CROWD_STOCK = 100;
/** A bound so a broken shedder fails the test instead of hanging it; never a synchronisation. */
const SHED_ANSWERS_WAIT_MS_MAX = 15_000;
/** "No responders" comes back at once; far below the shedding gateway's engine timeout. */
const NO_RESPONDERS_MS_MAX = 5_000;
const RETRY_AFTER_S = 1;
const LEASE_TTL_MS = 60_000;

t.test('the gateway over HTTP: every route and every error code', async (t) => {
  // 'ghost' has an engine but is never configured: SALE_NOT_FOUND. 'nobody' is in the catalogue
  // (placed on a WAL whose engine is gone): ENGINE_UNAVAILABLE.
  const stack = await startStack(t, {
    sales: ['r', 'ghost', 'later', 'ended', 'scarce', 'crowd'],
    // The in-flight-bound subtest stops the engine (SIGSTOP) while the gateway answers: its lease must
    // outlast the stop however slow a shared machine makes that, or the order held in flight
    // would be refused ENGINE_UNAVAILABLE when it resumes.
    leaseTtlMs: LEASE_TTL_MS,
  });
  const [limited, shedding] = await Promise.all([
    startGateway(t, stack.nats.url, {
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      RATE_LIMIT_WINDOW_MS: String(RATE_LIMIT_WINDOW_MS),
    }),
    startGateway(t, stack.nats.url, {
      ENGINE_INFLIGHT_MAX: String(SHEDDING_INFLIGHT_MAX),
      ENGINE_REQUEST_TIMEOUT_MS: String(SHEDDING_ENGINE_TIMEOUT_MS),
      // Fifty customers at once here must meet the in-flight bound, not the rate limit.
      RATE_LIMIT_MAX: '1000',
    }),
  ]);
  const base = stack.gateways[0]!.url;
  await createSale(stack, 'r', { stock: 5, perCustomerLimit: 2, name: 'Routes' });
  const alice = stack.token('alice');
  const bob = stack.token('bob');
  let aliceOrder: { orderId: string } & Record<string, unknown> = { orderId: '' };

  await t.test('the order path: create, buy, replay, read', async (t) => {
    const placed = await http(`${base}/v1/sales/r/orders`, {
      method: 'POST',
      token: alice,
      body: { quantity: 2 },
      headers: { 'idempotency-key': 'first', 'x-request-id': 'trace-0001' },
    });
    t.equal(placed.status, 201);
    t.match(placed.body, { saleId: 'r', customerId: 'alice', quantity: 2, status: 'CONFIRMED' });
    t.match(placed.body.orderId, /^r~\d+$/);
    t.same(
      placed.body.history.map((h: { status: string }) => h.status),
      ['CONFIRMED'],
    );
    t.equal(placed.headers.get('x-request-id'), 'trace-0001', 'a well-formed request id is kept');
    aliceOrder = placed.body;

    const replay = await http(`${base}/v1/sales/r/orders`, {
      method: 'POST',
      token: alice,
      body: { quantity: 2 },
      headers: { 'idempotency-key': 'first' },
    });
    t.equal(replay.status, 200, 'an idempotent replay is a 200');
    t.same(replay.body, placed.body, 'with the original order');

    const read = await http(`${base}/v1/orders/${placed.body.orderId}`, { token: alice });
    t.equal(read.status, 200);
    t.same(read.body, placed.body);

    const byAdmin = await http(`${base}/v1/orders/${placed.body.orderId}`, {
      token: stack.adminToken,
    });
    t.equal(byAdmin.status, 200, 'an admin may read any order');

    const sale = await http(`${base}/v1/sales/r`);
    t.equal(sale.status, 200);
    t.same(sale.body, {
      saleId: 'r',
      name: 'Routes',
      stock: 5,
      remaining: 3,
      perCustomerLimit: 2,
      status: 'OPEN',
    });

    const mine = await http(`${base}/v1/sales/r/me`, { token: alice });
    t.equal(mine.status, 200);
    t.same(mine.body, { saleId: 'r', customerId: 'alice', purchased: 2, orders: [placed.body] });
    const nothing = await http(`${base}/v1/sales/r/me`, { token: bob });
    t.same(nothing.body, { saleId: 'r', customerId: 'bob', purchased: 0, orders: [] });

    // RFC 9110: the auth scheme is case-insensitive.
    const lowercase = await http(`${base}/v1/sales/r/me`, {
      headers: { authorization: `bearer ${alice}` },
    });
    t.equal(lowercase.status, 200, '"bearer" works like "Bearer"');
  });

  await t.test('admin: PUT creates a sale (201), then changes it (200)', async (t) => {
    const startsAt = new Date(Date.now() + HOUR_MS).toISOString();
    const settings = { name: 'Later', stock: 10, perCustomerLimit: 1, startsAt };
    const created = await http(`${base}/v1/admin/sales/later`, {
      method: 'PUT',
      token: stack.adminToken,
      body: settings,
    });
    t.equal(created.status, 201);
    t.same(created.body, {
      saleId: 'later',
      ...settings,
      remaining: 10,
      status: 'SCHEDULED',
    });
    const changed = await http(`${base}/v1/admin/sales/later`, {
      method: 'PUT',
      token: stack.adminToken,
      body: { ...settings, name: 'Later, renamed', stock: 12 },
    });
    t.equal(changed.status, 200);
    t.match(changed.body, { name: 'Later, renamed', stock: 12, remaining: 12 });
    const again = await http(`${base}/v1/admin/sales/later`, {
      method: 'PUT',
      token: stack.adminToken,
      body: { ...settings, name: 'Later, renamed', stock: 12 },
    });
    t.equal(again.status, 200, 'the same settings again: 200, not a second creation');
    t.same((await http(`${base}/v1/sales/later`)).body, changed.body, 'a read sees the change');
  });

  await t.test('operations: probes, metrics, OpenAPI, the live page', async (t) => {
    const live = await http(`${base}/health/live`);
    t.equal(live.status, 200);
    t.same(live.body, { status: 'ok' });
    const ready = await http(`${base}/health/ready`);
    t.equal(ready.status, 200);
    t.same(ready.body, { status: 'ready' });

    const probe = { method: 'GET', route: '/health/live', status: '200' };
    const before = metricValue(
      await scrapeMetrics(base),
      'flashsale_gateway_http_requests_total',
      probe,
    );
    await http(`${base}/health/live`);
    await http(`${base}/health/live`);
    const response = await fetch(`${base}/metrics`);
    t.match(response.headers.get('content-type'), /^text\/plain/);
    const text = await response.text();
    t.equal(
      metricValue(text, 'flashsale_gateway_http_requests_total', probe),
      before + 2,
      'the request counter moved by the two probes',
    );
    for (const name of [
      'flashsale_gateway_http_request_duration_seconds_count',
      'flashsale_gateway_engine_requests_inflight',
      'flashsale_gateway_websocket_connections',
      'flashsale_gateway_shed_total',
      'flashsale_gateway_sold_out_fast_path_total',
      'process_cpu_user_seconds_total',
    ])
      t.match(text, new RegExp(`^(# TYPE )?${name}\\b`, 'm'), `${name} is exported`);
    t.ok(
      metricValue(text, 'flashsale_gateway_http_request_duration_seconds_count', {
        route: '/v1/sales/:saleId/orders',
      }) > 0,
      'order latencies are observed',
    );

    const openapi = await http(`${base}/docs/openapi.json`);
    t.equal(openapi.status, 200);
    t.equal(openapi.body.openapi, '3.0.3');
    for (const path of [
      '/v1/sales/{saleId}/orders',
      '/v1/orders/{orderId}',
      '/v1/sales/{saleId}',
      '/v1/sales/{saleId}/me',
      '/v1/admin/sales/{saleId}',
    ])
      t.ok(openapi.body.paths[path], `OpenAPI documents ${path}`);
    t.notOk(openapi.body.paths['/metrics'], 'operations routes are hidden');
    t.same(
      Object.keys(openapi.body.paths['/v1/sales/{saleId}/orders'].post.responses).sort(),
      ['200', '201', '400', '401', '404', '409', '422', '429', '500', '503'],
      'placing an order documents every status it can send',
    );
    t.match(openapi.body.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });

    const page = await fetch(`${base}/`);
    t.equal(page.status, 200);
    t.match(page.headers.get('content-type'), /^text\/html/);
    t.match(await page.text(), /^<!doctype html>/i);
  });

  await t.test('refusals before the engine decides anything', async (t) => {
    expectError(
      t,
      await http(`${base}/v1/sales/r/orders`, {
        method: 'POST',
        token: bob,
        body: { quantity: 0 },
      }),
      400,
      'INVALID_REQUEST',
    );
    expectError(
      t,
      await http(`${base}/v1/sales/r/orders`, { method: 'POST', body: { quantity: 1 } }),
      401,
      'UNAUTHORIZED',
    );
    expectError(t, await http(`${base}/v1/sales/r/me`), 401, 'UNAUTHORIZED', {}, 'me: no token');
    expectError(
      t,
      await http(`${base}/v1/orders/${aliceOrder.orderId}`, { token: bob }),
      403,
      'FORBIDDEN',
      {},
      "another customer's order",
    );
    expectError(
      t,
      await http(`${base}/v1/admin/sales/r`, {
        method: 'PUT',
        token: bob,
        body: { name: 'mine now', stock: 1_000, perCustomerLimit: 100 },
      }),
      403,
      'FORBIDDEN',
      {},
      'a customer on the admin route',
    );
    t.equal((await http(`${base}/v1/sales/r`)).body.stock, 5, 'the refused PUT changed nothing');
    expectError(t, await http(`${base}/v1/no/such/route`), 404, 'NOT_FOUND');
    expectError(
      t,
      await http(`${base}/v1/sales/r`, { method: 'DELETE' }),
      404,
      'NOT_FOUND',
      {},
      'a method the route lacks',
    );
    expectError(t, await http(`${base}/v1/sales/ghost`), 404, 'SALE_NOT_FOUND');
    expectError(
      t,
      await http(`${base}/v1/sales/ghost/orders`, {
        method: 'POST',
        token: bob,
        body: { quantity: 1 },
      }),
      404,
      'SALE_NOT_FOUND',
      {},
      'ordering in a sale nobody configured',
    );
    expectError(
      t,
      await http(`${base}/v1/sales/ghost/me`, { token: bob }),
      404,
      'SALE_NOT_FOUND',
      {},
      'me in a sale nobody configured',
    );
    expectError(t, await http(`${base}/v1/orders/r~999`, { token: bob }), 404, 'ORDER_NOT_FOUND');
  });

  await t.test("the engine's refusals", async (t) => {
    const order = (token: string, saleId: string, quantity: number, key?: string) =>
      http(`${base}/v1/sales/${saleId}/orders`, {
        method: 'POST',
        token,
        body: { quantity },
        headers: key === undefined ? {} : { 'idempotency-key': key },
      });
    expectError(t, await order(bob, 'later', 1), 409, 'SALE_NOT_OPEN', {}, 'before startsAt');

    const ended = await http(`${base}/v1/admin/sales/ended`, {
      method: 'PUT',
      token: stack.adminToken,
      body: {
        name: 'Ended',
        stock: 10,
        perCustomerLimit: 1,
        startsAt: new Date(Date.now() - 2 * HOUR_MS).toISOString(),
        endsAt: new Date(Date.now() - HOUR_MS).toISOString(),
      },
    });
    t.equal(ended.status, 201);
    t.equal(ended.body.status, 'ENDED');
    expectError(t, await order(bob, 'ended', 1), 409, 'SALE_NOT_OPEN', {}, 'after endsAt');

    expectError(t, await order(alice, 'r', 1), 409, 'LIMIT_EXCEEDED', { limit: 2, purchased: 2 });
    expectError(t, await order(alice, 'r', 1, 'first'), 422, 'IDEMPOTENCY_KEY_REUSED');
    t.equal((await http(`${base}/v1/sales/r`)).body.remaining, 3, 'no refusal sold anything');
  });

  await t.test(
    'sold out: answered from the gateway cache, and a replay still gets its order',
    async (t) => {
      await createSale(stack, 'scarce', { stock: 3, perCustomerLimit: 3 });
      const order = (customer: string, quantity: number, key?: string) =>
        http(`${base}/v1/sales/scarce/orders`, {
          method: 'POST',
          token: stack.token(customer),
          body: { quantity },
          headers: key === undefined ? {} : { 'idempotency-key': key },
        });
      t.equal((await order('carol', 2)).status, 201);
      expectError(t, await order('dave', 2), 409, 'INSUFFICIENT_STOCK', { remaining: 1 });

      // The gateway's live socket is fed by the same cache the fast path reads: once it shows 0
      // left, the gateway knows the sale is sold out.
      const live = await LiveClient.open(`${base.replace('http', 'ws')}/v1/sales/scarce/live`);
      t.teardown(() => live.close());
      await live.next((m) => m.type === 'stock');
      const last = await order('dave', 1, 'dave-last');
      t.equal(last.status, 201, 'the last unit');
      t.same(await live.next((m) => m.remaining === 0), {
        type: 'stock',
        saleId: 'scarce',
        stock: 3,
        remaining: 0,
      });

      const fastPath = async () =>
        metricValue(await scrapeMetrics(base), 'flashsale_gateway_sold_out_fast_path_total');
      const before = await fastPath();
      expectError(t, await order('erin', 1), 409, 'SOLD_OUT', {}, 'sold out, no key');
      t.equal(await fastPath(), before + 1, 'answered by the gateway, not the engine');

      // DESIGN.md: the sold-out answer may come first, before the token and the body are read.
      const early = await http(`${base}/v1/sales/scarce/orders?from=page`, {
        method: 'POST',
        body: '{"quantity":"lots"',
        headers: { 'x-request-id': 'early-1' },
      });
      expectError(t, early, 409, 'SOLD_OUT', {}, 'no token, a broken body: still SOLD_OUT');
      t.equal(early.headers.get('x-request-id'), 'early-1', 'with the request id, as any reply');
      expectError(
        t,
        await http(`${base}/v1/sales/scarce/orders`, { method: 'POST', token: 'not.a.jwt' }),
        409,
        'SOLD_OUT',
        {},
        'a bad token: SOLD_OUT first',
      );
      t.equal(await fastPath(), before + 3, 'both answered before the token was looked at');
      expectError(
        t,
        await http(`${base}/v1/sales/scarce/orders`, {
          method: 'POST',
          body: { quantity: 1 },
          headers: { 'idempotency-key': 'no-token-key' },
        }),
        401,
        'UNAUTHORIZED',
        {},
        'with a key the answer may be an order: the token comes first then',
      );

      const replay = await order('dave', 1, 'dave-last');
      t.equal(replay.status, 200, 'an idempotent retry on a sold-out sale still succeeds');
      t.same(replay.body, last.body, 'with the original order');
      expectError(t, await order('erin', 1, 'erin-1'), 409, 'SOLD_OUT', {}, 'sold out, a new key');
      expectError(t, await order('dave', 2, 'dave-last'), 422, 'IDEMPOTENCY_KEY_REUSED');
      t.equal(await fastPath(), before + 3, 'requests with a key always go to the engine');
      t.match((await http(`${base}/v1/sales/scarce`)).body, { remaining: 0, status: 'SOLD_OUT' });

      // Stock raised through this gateway: its reply is the cache's news, so the very next order
      // is the engine's to decide, not refused from the stale 0 until the next publication.
      const raised = await http(`${base}/v1/admin/sales/scarce`, {
        method: 'PUT',
        token: stack.adminToken,
        body: { name: 'scarce', stock: 5, perCustomerLimit: 3 },
      });
      t.match(raised, { status: 200, body: { remaining: 2 } }, 'two more units');
      t.equal((await order('erin', 1)).status, 201, 'the next order gets one at once');
      t.equal(await fastPath(), before + 3, 'not refused from the cache');
    },
  );

  await t.test('RATE_LIMITED, with Retry-After, per customer', async (t) => {
    const me = (token: string) => http(`${limited.url}/v1/sales/r/me`, { token });
    const greedy = stack.token('greedy');
    const allowed = [];
    for (let i = 0; i < RATE_LIMIT_MAX; i += 1) allowed.push(await me(greedy));
    t.same(
      allowed.map((reply) => reply.status),
      Array(RATE_LIMIT_MAX).fill(200),
    );
    t.ok(
      allowed.every((reply) => reply.headers.get('x-ratelimit-remaining') === null),
      'the limit headers are not sent on every reply',
    );
    const refused = await me(greedy);
    expectError(t, refused, 429, 'RATE_LIMITED');
    expectRetryAfter(t, refused.headers, 1, RATE_LIMIT_WINDOW_MS / 1000);
    t.equal(
      refused.headers.get('x-ratelimit-limit'),
      String(RATE_LIMIT_MAX),
      'but with the refusal',
    );
    t.equal((await me(stack.token('patient'))).status, 200, 'another customer is not limited');
  });

  await t.test(
    'OVERLOADED, with Retry-After, when the engine requests in flight hit the bound',
    async (t) => {
      await createSale(stack, 'crowd', { stock: CROWD_STOCK, perCustomerLimit: 1 });
      const shed = async () =>
        metricValue(await scrapeMetrics(shedding.url), 'flashsale_gateway_shed_total', {
          reason: 'inflight',
        });
      const shedBefore = await shed();
      const enginePid = stack.engine.pid!;
      // A stopped engine holds the first request in flight for as long as it is stopped, so every
      // other one meets the bound: exactly one gets through, whatever the timing.
      process.kill(enginePid, 'SIGSTOP');
      let answered = 0;
      let allButOneAnswered: () => void = () => undefined;
      const allButOne = new Promise<void>((resolve) => {
        allButOneAnswered = resolve;
      });
      const requests = Array.from({ length: CONCURRENT_ORDERS }, (_, i) =>
        http(`${shedding.url}/v1/sales/crowd/orders`, {
          method: 'POST',
          token: stack.token(`crowd-${i}`),
          body: { quantity: 1 },
        }).then((response) => {
          answered += 1;
          if (answered === CONCURRENT_ORDERS - 1) allButOneAnswered();
          return response;
        }),
      );
      try {
        await Promise.race([allButOne, delay(SHED_ANSWERS_WAIT_MS_MAX, undefined, { ref: false })]);
      } finally {
        process.kill(enginePid, 'SIGCONT');
      }
      const responses = await Promise.all(requests);
      const overloaded = responses.filter((r) => r.status === 503);
      t.equal(overloaded.length, CONCURRENT_ORDERS - 1, 'all but the one in flight are shed');
      t.equal(
        responses.filter((r) => r.status === 201).length,
        1,
        'the one in flight is placed once the engine resumes',
      );
      t.ok(
        overloaded.every((r) => r.body.error === 'OVERLOADED'),
        'every 503 is OVERLOADED',
      );
      expectError(t, overloaded[0]!, 503, 'OVERLOADED');
      expectRetryAfter(t, overloaded[0]!.headers, RETRY_AFTER_S, RETRY_AFTER_S);
      t.equal(await shed(), shedBefore + CONCURRENT_ORDERS - 1, 'the shed counter moved as much');
      t.equal(
        (await http(`${base}/v1/sales/crowd`)).body.remaining,
        CROWD_STOCK - 1,
        'shed orders sold nothing',
      );
    },
  );

  await t.test('ENGINE_UNAVAILABLE at once when no engine serves a sale that exists', async (t) => {
    // In the catalogue, placed on a WAL whose engine is gone (pool-placement covers the real way).
    const catalogue = await new Kvm(stack.nc).open(SALE_CATALOGUE_BUCKET);
    const entry = { saleId: 'nobody', walId: 'gone', engineId: 'gone', pinned: true, at: 0 };
    await catalogue.create('nobody', JSON.stringify(entry));
    const requests = [
      { path: '/v1/sales/nobody', init: {} },
      { path: '/v1/sales/nobody/me', init: { token: bob } },
      { path: '/v1/orders/nobody~1', init: { token: bob } },
      {
        path: '/v1/sales/nobody/orders',
        init: { method: 'POST', token: bob, body: { quantity: 1 } },
      },
    ];
    for (const { path, init } of requests) {
      const started = performance.now();
      const response = await http(`${shedding.url}${path}`, init);
      const elapsedMs = performance.now() - started;
      expectError(t, response, 503, 'ENGINE_UNAVAILABLE', {}, path);
      expectRetryAfter(t, response.headers, RETRY_AFTER_S, RETRY_AFTER_S);
      t.ok(elapsedMs < NO_RESPONDERS_MS_MAX, `${path}: no responders, not a timeout`);
    }
  });
});
