import t from 'tap';
import { CarrierProcess } from '../scripts/stack/carrier-process.js';
import type { Teardown } from './helpers/nats.js';

// The fake carrier, a real process over real HTTP: idempotent shipments, and each fault doing
// exactly what the shipping agent's tests rely on.

const LONG_OUTAGE_MS = 600_000;
const BAD_CONFIG_EXIT_CODE = 78;

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function order(orderId: string) {
  return { orderId, saleId: 'sale', customerId: 'alice', quantity: 1 };
}

async function send(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
): Promise<Reply> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** `POST /shipments` for an order, keyed by its orderId unless told otherwise. */
function ship(
  carrier: CarrierProcess,
  orderId: string,
  options: { key?: string | null; body?: string; signal?: AbortSignal } = {},
): Promise<Reply> {
  const key = options.key === undefined ? orderId : options.key;
  return send(`${carrier.url}/shipments`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { 'idempotency-key': key }),
    },
    body: options.body ?? JSON.stringify(order(orderId)),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

async function startCarrier(
  t: Teardown,
  env: Readonly<Record<string, string>> = {},
): Promise<CarrierProcess> {
  const carrier = await CarrierProcess.start({ env: { LOG_LEVEL: 'debug', ...env } });
  t.teardown(() => carrier.kill());
  return carrier;
}

t.test('the same key twice: one shipment, the same trackingId, 201 then 200', async (t) => {
  const carrier = await startCarrier(t);
  const first = await ship(carrier, 'o-1');
  const again = await ship(carrier, 'o-1');
  t.equal(first.status, 201);
  t.match(first.body, { orderId: 'o-1', created: true, trackingId: /^TRK-\S+$/ });
  t.equal(again.status, 200);
  t.same(again.body, { ...first.body, created: false }, 'the same shipment answered again');
  const other = await ship(carrier, 'o-2');
  t.not(other.body.trackingId, first.body.trackingId, 'another order, another trackingId');
  t.same(await carrier.stats(), {
    total: 2,
    calls: 3,
    inFlight: 0,
    inFlightMax: 1,
    byOrder: { 'o-1': 1, 'o-2': 1 },
  });
});

t.test('failureRate 1: every call 503 CARRIER_ERROR, nothing shipped', async (t) => {
  const carrier = await startCarrier(t, { CARRIER_FAILURE_RATE: '1' });
  for (const orderId of ['o-1', 'o-1', 'o-2']) {
    const reply = await ship(carrier, orderId);
    t.equal(reply.status, 503);
    t.equal(reply.body.error, 'CARRIER_ERROR');
  }
  t.same(await carrier.stats(), {
    total: 0,
    calls: 3,
    inFlight: 0,
    inFlightMax: 1,
    byOrder: {},
  });
});

t.test('a lost reply: shipped but 500; the retry finds the same shipment', async (t) => {
  const carrier = await startCarrier(t);
  t.same(await carrier.setFaults({ lostReplyRate: 1 }), {
    failureRate: 0,
    latencyMsMax: 0,
    timeoutRate: 0,
    lostReplyRate: 1,
  });
  const lost = await ship(carrier, 'o-1');
  t.equal(lost.status, 500, 'the client sees a failure');
  t.notMatch(lost.body, { trackingId: /./ }, 'and no trackingId');
  t.same((await carrier.stats()).byOrder, { 'o-1': 1 }, 'yet the shipment was made');

  await carrier.setFaults({ lostReplyRate: 0 });
  const retry = await ship(carrier, 'o-1');
  t.equal(retry.status, 200, 'the retry is a replay');
  t.match(retry.body, { orderId: 'o-1', created: false, trackingId: /^TRK-\S+$/ });
  t.same(await carrier.stats(), {
    total: 1,
    calls: 2,
    inFlight: 0,
    inFlightMax: 1,
    byOrder: { 'o-1': 1 },
  });
});

t.test('an outage: 503 CARRIER_DOWN until it is ended', async (t) => {
  const carrier = await startCarrier(t, { CARRIER_OUTAGE_MS: String(LONG_OUTAGE_MS) });
  const down = await ship(carrier, 'o-1');
  t.equal(down.status, 503, 'down from the start (CARRIER_OUTAGE_MS)');
  t.equal(down.body.error, 'CARRIER_DOWN');
  t.match(await carrier.endOutage(), { down: false, remainingMs: 0 });
  t.equal((await ship(carrier, 'o-1')).status, 201, 'up once ended');

  t.match(await carrier.startOutage(LONG_OUTAGE_MS), { down: true });
  for (const orderId of ['o-1', 'o-2']) {
    const reply = await ship(carrier, orderId);
    t.equal(reply.status, 503);
    t.equal(reply.body.error, 'CARRIER_DOWN');
  }
  await carrier.endOutage();
  t.equal((await ship(carrier, 'o-2')).status, 201, 'up again');
  t.same(await carrier.stats(), {
    total: 2,
    calls: 5,
    inFlight: 0,
    inFlightMax: 1,
    byOrder: { 'o-1': 1, 'o-2': 1 },
  });
});

t.test('timeoutRate 1: the call is held until the client gives up', async (t) => {
  const carrier = await startCarrier(t, { CARRIER_TIMEOUT_RATE: '1' });
  // The client gives up once the carrier holds the call, not on a timer that could run out
  // before the call arrives on a busy machine.
  const client = new AbortController();
  const gaveUp = t.rejects(
    ship(carrier, 'o-1', { signal: client.signal }),
    { name: 'AbortError' },
    'the client gave up',
  );
  const held = await carrier.waitForLog((line) => line.msg === 'shipment call held');
  t.equal(held.inFlight, 1, 'the held call is in flight');
  client.abort();
  await gaveUp;
  const ended = await carrier.waitForLog((line) => line.msg === 'shipment call ended unanswered');
  t.equal(ended.inFlight, 0, 'and the carrier stops counting it');
  t.same(await carrier.stats(), { total: 0, calls: 1, inFlight: 0, inFlightMax: 1, byOrder: {} });
});

t.test('inFlightMax: the most calls in flight at once, until a reset', async (t) => {
  const carrier = await startCarrier(t, { CARRIER_TIMEOUT_RATE: '1' });
  // Held until the test lets them go: a timeout per call could end the first before the last came.
  const giveUp = new AbortController();
  const calls = ['o-1', 'o-2', 'o-3'].map((orderId) =>
    ship(carrier, orderId, { signal: giveUp.signal }).catch(() => 'gave up'),
  );
  const held = () => carrier.logs.filter((line) => line.msg === 'shipment call held').length;
  await carrier.waitForLog(() => held() === 3);
  t.equal((await carrier.stats()).inFlightMax, 3, 'three held at once');
  giveUp.abort();
  t.same(await Promise.all(calls), ['gave up', 'gave up', 'gave up']);
  const ended = () =>
    carrier.logs.filter((line) => line.msg === 'shipment call ended unanswered').length;
  await carrier.waitForLog(() => ended() === 3);
  t.equal((await carrier.stats()).inFlightMax, 3, 'kept after they ended');

  const again = new AbortController();
  const one = ship(carrier, 'o-4', { signal: again.signal }).catch(() => 'gave up');
  await carrier.waitForLog(() => held() === 4);
  t.equal((await carrier.reset()).inFlightMax, 1, 'a reset starts again from what is in flight');
  again.abort();
  await one;
});

t.test('bad input: 400 INVALID_REQUEST, nothing shipped, nothing changed', async (t) => {
  const carrier = await startCarrier(t);
  const badCalls: [string, Parameters<typeof ship>[2]][] = [
    ['no Idempotency-Key', { key: null }],
    ['an empty Idempotency-Key', { key: '' }],
    ['an Idempotency-Key of 129 characters', { key: 'k'.repeat(129) }],
    ['no body fields', { body: '{}' }],
    ['a quantity of 0', { body: JSON.stringify({ ...order('o-1'), quantity: 0 }) }],
    ['a quantity as a string', { body: JSON.stringify({ ...order('o-1'), quantity: '1' }) }],
    ['an unknown field', { body: JSON.stringify({ ...order('o-1'), price: 1 }) }],
    ['an orderId of 129 characters', { body: JSON.stringify(order('o'.repeat(129))) }],
    ['broken JSON', { body: '{"orderId": ' }],
    ['an oversized body', { body: JSON.stringify({ ...order('o-1'), pad: 'x'.repeat(10_000) }) }],
  ];
  for (const [what, options] of badCalls) {
    const reply = await ship(carrier, 'o-1', options);
    t.equal(reply.status, 400, what);
    t.equal(reply.body.error, 'INVALID_REQUEST', what);
    t.match(reply.body.message, /\S/, `${what}: a message says why`);
  }
  t.same(await carrier.stats(), {
    total: 0,
    calls: badCalls.length,
    inFlight: 0,
    inFlightMax: 1,
    byOrder: {},
  });

  const badAdmin: [string, string, unknown][] = [
    ['a rate above 1', '/admin/faults', { failureRate: 1.5 }],
    ['a negative rate', '/admin/faults', { timeoutRate: -0.1 }],
    ['a latency over 60 s', '/admin/faults', { latencyMsMax: 60_001 }],
    ['an unknown fault', '/admin/faults', { explode: 1 }],
    ['an outage of 0 ms', '/admin/outage', { ms: 0 }],
    ['an outage of no length', '/admin/outage', {}],
  ];
  for (const [what, path, body] of badAdmin) {
    const reply = await send(`${carrier.url}${path}`, {
      method: path === '/admin/faults' ? 'PUT' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    t.equal(reply.status, 400, what);
    t.equal(reply.body.error, 'INVALID_REQUEST', what);
  }
  t.equal((await ship(carrier, 'o-1')).status, 201, 'faults and outage unchanged: it ships');
});

t.test('a bad setting stops the carrier with a clear error', async (t) => {
  await t.rejects(
    CarrierProcess.start({ env: { CARRIER_FAILURE_RATE: '2' } }),
    new RegExp(`process exited \\(${BAD_CONFIG_EXIT_CODE}\\) before`),
    `exit code ${BAD_CONFIG_EXIT_CODE}`,
  );
});

t.test('SIGTERM with a held call: the carrier closes it and exits 0', async (t) => {
  const carrier = await startCarrier(t, { CARRIER_TIMEOUT_RATE: '1' });
  const cut = t.rejects(ship(carrier, 'o-1'), 'the held call was cut, not answered');
  await carrier.waitForLog((line) => line.msg === 'shipment call held');
  t.equal((await carrier.stats()).inFlight, 1, 'the held call is in flight');
  t.same(await carrier.kill('SIGTERM'), { code: 0, signal: null }, 'exit 0');
  await cut;
  t.ok(carrier.logs.some((line) => line.msg === 'carrier stopped'));
});

t.test('reset: shipments and counters cleared', async (t) => {
  const carrier = await startCarrier(t);
  await ship(carrier, 'o-1');
  t.same(await carrier.reset(), { total: 0, calls: 0, inFlight: 0, inFlightMax: 0, byOrder: {} });
  t.equal((await ship(carrier, 'o-1')).status, 201, 'the order ships anew');
  t.same(await carrier.stats(), {
    total: 1,
    calls: 1,
    inFlight: 0,
    inFlightMax: 1,
    byOrder: { 'o-1': 1 },
  });
});
