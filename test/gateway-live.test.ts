import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import WebSocket from 'ws';
import {
  encodeMessage,
  ordersStatusSubject,
  type StockMessage,
  saleStockSubject,
} from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { mintToken } from '../scripts/client/tokens.js';
import { freePort } from '../scripts/stack/free-port.js';
import type { GatewayProcess } from '../scripts/stack/gateway-process.js';
import { NatsServerProcess } from '../scripts/stack/nats-server.js';
import { natsClient, startEngine, type Teardown, tempDir } from './helpers/nats.js';
import { createSale, http, type Stack, startGateway, TEST_JWT_SECRET } from './helpers/stack.js';

// The live WebSockets through real gateway processes: `/v1/sales/:saleId/live` (stock, coalesced,
// one NATS subscription per gateway per sale) and `/v1/me/live` (the caller's order statuses and
// nobody else's). One stack serves the file — a nats-server with its monitoring port open (to
// count subscriptions), one engine, two gateways — and each test has a sale of its own.

/** How long one expected message or condition may take before the test fails. */
const WAIT_MS_MAX = 10_000;
/** Between two reads of a polled condition (/metrics, which has no push). */
const POLL_INTERVAL_MS = 25;

const SALES = ['seq', 'burst', 'slow', 'me', 'fan', 'metered'];

type Json = Record<string, unknown>;
type Match = (message: Json) => boolean;

/** A client socket that records every message and can await one that matches. */
class LiveClient {
  readonly messages: Json[] = [];
  error: Error | null = null;
  private readonly waiters = new Set<{ match: Match; resolve: (message: Json) => void }>();

  private constructor(readonly socket: WebSocket) {
    // Kept, not thrown: a socket error must fail the waits, not crash the test process.
    socket.on('error', (error) => {
      this.error = error;
    });
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Json;
      this.messages.push(message);
      for (const waiter of this.waiters)
        if (waiter.match(message)) {
          this.waiters.delete(waiter);
          waiter.resolve(message);
        }
    });
  }

  static open(t: Teardown, url: string, options?: WebSocket.ClientOptions): Promise<LiveClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options);
      // Listening from the start: the first message may come in the same packet as the upgrade.
      const client = new LiveClient(socket);
      t.teardown(() => client.close());
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  /** The first message (already received or still to come) that matches. */
  until(match: Match, what: string): Promise<Json> {
    const seen = this.messages.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (message: Json) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const last = JSON.stringify(this.messages.slice(-3));
        const error = this.error === null ? '' : ` (socket error: ${this.error.message})`;
        reject(new Error(`no ${what} within ${WAIT_MS_MAX} ms${error}; last messages: ${last}`));
      }, WAIT_MS_MAX);
      this.waiters.add(waiter);
    });
  }

  /** The `remaining` of every stock message so far, in arrival order. */
  get remainings(): number[] {
    return this.messages.filter((m) => m.type === 'stock').map((m) => m.remaining as number);
  }

  /** Resolves once the socket is closed, whatever state it was in (teardown after a failure). */
  close(): Promise<void> {
    const { socket } = this;
    if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close();
    return closed;
  }
}

/** What an upgrade refused before it happened answers: the HTTP status and JSON body. */
function refusal(url: string, options?: WebSocket.ClientOptions) {
  return new Promise<{ status: number; body: Json }>((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('open', () => {
      socket.terminate();
      reject(new Error(`${url} was upgraded, not refused`));
    });
    socket.once('error', reject);
    socket.once('unexpected-response', (request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.once('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Json });
      });
    });
  });
}

/** Polls until `check` holds; for state that can only be read, not awaited (/metrics). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS_MAX;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${WAIT_MS_MAX} ms`);
    await delay(POLL_INTERVAL_MS);
  }
}

const liveUrl = (gateway: GatewayProcess, path: string) =>
  `${gateway.url.replace(/^http/, 'ws')}${path}`;

const stockIs =
  (remaining: number): Match =>
  (m) =>
    m.type === 'stock' && m.remaining === remaining;

const statusIs =
  (orderId: string, status: string): Match =>
  (m) =>
    m.type === 'orderStatus' && m.orderId === orderId && m.status === status;

/** Consecutive repeats dropped: the engine's heartbeat may re-send an unchanged value. */
const changes = (values: readonly number[]) =>
  values.filter((v, i) => i === 0 || v !== values[i - 1]);

const nats = await NatsServerProcess.start({
  storeDir: join(await tempDir(t, 'nats'), 'js'),
  monitorPort: await freePort(),
});
t.teardown(() => nats.stop());
const nc = await natsClient(t, nats.url);
const walDir = await tempDir(t, 'wal');
const engine = await startEngine(t, { natsUrl: nats.url, walDir, sales: SALES });
// gw-a logs every request (debug), as an operator chasing a problem would: the live socket's
// ?token= must not reach those lines either.
const gateways = await Promise.all([
  startGateway(t, nats.url, { GATEWAY_ID: 'gw-a', LOG_LEVEL: 'debug' }),
  startGateway(t, nats.url, { GATEWAY_ID: 'gw-b' }),
]);
const [gatewayA, gatewayB] = gateways as [GatewayProcess, GatewayProcess];
const stack: Stack = {
  nats,
  nc,
  engine,
  gateways,
  walDir,
  token: (sub) => mintToken(TEST_JWT_SECRET, { sub, ttlS: 3_600 }),
  adminToken: mintToken(TEST_JWT_SECRET, { sub: 'ops', role: 'admin', ttlS: 3_600 }),
};
const client = new EngineClient(nc);

async function placeOverHttp(
  gateway: GatewayProcess,
  saleId: string,
  customer: string,
  quantity = 1,
) {
  const placed = await http(`${gateway.url}/v1/sales/${saleId}/orders`, {
    method: 'POST',
    token: stack.token(customer),
    body: { quantity },
  });
  if (placed.status !== 201) throw new Error(`order refused: ${JSON.stringify(placed.body)}`);
  return placed.body.orderId as string;
}

async function placeOverNats(saleId: string, customer: string, quantity = 1) {
  const placed = await client.placeOrder(saleId, customer, quantity);
  if (!placed.ok || placed.kind !== 'order') throw new Error(JSON.stringify(placed));
  return placed.order.orderId;
}

t.test('the sale socket: the stock on connect, then each change, down to 0', async (t) => {
  await createSale(stack, 'seq', { stock: 6, perCustomerLimit: 2 });
  const live = await LiveClient.open(t, liveUrl(gatewayA, '/v1/sales/seq/live'));

  const first = await live.until((m) => m.type === 'stock', 'first stock message');
  t.same(first, { type: 'stock', saleId: 'seq', stock: 6, remaining: 6 }, 'the current stock');
  t.equal(live.messages[0], first, 'sent first, before anything else');

  await placeOverHttp(gatewayA, 'seq', 'seq-alice', 2);
  await live.until(stockIs(4), 'remaining 4 after an order over HTTP');
  await placeOverNats('seq', 'seq-bob', 2);
  await live.until(stockIs(2), 'remaining 2 after an order straight to the engine');
  await placeOverHttp(gatewayB, 'seq', 'seq-carol', 2);
  const last = await live.until(stockIs(0), 'remaining 0 at the sell-out');
  t.same(last, { type: 'stock', saleId: 'seq', stock: 6, remaining: 0 });
  t.same(changes(live.remainings), [6, 4, 2, 0], 'every change, in order, nothing else');
});

t.test('a burst of orders reaches the socket coalesced, ending on the final value', async (t) => {
  const BURST_ORDERS = 500;
  /** At most this many stock messages for the whole burst: one per order would fail it. */
  const BURST_MESSAGES_MAX = BURST_ORDERS / 10;
  await createSale(stack, 'burst', { stock: BURST_ORDERS, perCustomerLimit: 1 });
  const live = await LiveClient.open(t, liveUrl(gatewayA, '/v1/sales/burst/live'));
  await live.until(stockIs(BURST_ORDERS), 'the full stock on connect');

  const placed = await Promise.all(
    Array.from({ length: BURST_ORDERS }, (_, i) => client.placeOrder('burst', `burst-${i}`)),
  );
  t.equal(placed.filter((reply) => reply.ok).length, BURST_ORDERS, 'every order accepted');
  await live.until(stockIs(0), 'remaining 0 after the burst');

  const received = live.remainings.slice(1);
  t.ok(
    received.length <= BURST_MESSAGES_MAX,
    `${received.length} messages for ${BURST_ORDERS} orders (at most ${BURST_MESSAGES_MAX})`,
  );
  t.equal(received.at(-1), 0, 'the last message carries the final value');
  t.ok(
    received.every((v, i) => i === 0 || v <= received[i - 1]!),
    `never an older value after a newer one: ${received.join(', ')}`,
  );
});

t.test('a client that stops reading gets the latest stock, not a backlog', async (t) => {
  // The kernel buffers a few MB for a socket that stops reading, so orders alone (~60 bytes of
  // stock per publication, and the engine publishes at most every 50 ms) could never back a
  // socket up. What the gateway must bound is what it queues itself: at most one message in
  // flight plus the latest per key, however fast stock arrives. So the burst here is the engine's
  // own stock message, re-published FLOOD_MESSAGES times (what its heartbeat sends, far faster),
  // then real orders; a gateway that wrote one frame per publication would send them all.
  const FLOOD_MESSAGES = 20_000;
  /** Frames a socket may receive for the flood and the orders; without coalescing, > 20,000. */
  const RECEIVED_MESSAGES_MAX = FLOOD_MESSAGES / 20;
  const STOCK = 200;
  const ORDERS = 100;
  await createSale(stack, 'slow', { stock: STOCK, perCustomerLimit: 1 });
  const slow = await LiveClient.open(t, liveUrl(gatewayA, '/v1/sales/slow/live'));
  // An ordinary reader on the same gateway: once it has the final value, so has the gateway
  // handled the whole burst, for both sockets.
  const witness = await LiveClient.open(t, liveUrl(gatewayA, '/v1/sales/slow/live'));
  await Promise.all([slow, witness].map((c) => c.until(stockIs(STOCK), 'the full stock')));

  slow.socket.pause();
  const current: StockMessage = { type: 'stock', saleId: 'slow', stock: STOCK, remaining: STOCK };
  for (let i = 0; i < FLOOD_MESSAGES; i += 1)
    nc.publish(saleStockSubject('slow'), encodeMessage(current));
  await nc.flush();
  const placed = await Promise.all(
    Array.from({ length: ORDERS }, (_, i) => client.placeOrder('slow', `slow-${i}`)),
  );
  t.equal(placed.filter((reply) => reply.ok).length, ORDERS, 'every order accepted');
  const final = STOCK - ORDERS;
  t.equal((await client.sale('slow')).remaining, final, 'the engine says so too');
  await witness.until(stockIs(final), 'the final value at the reading socket');
  // ws may still emit what it had buffered when paused (a heartbeat's copy of the same stock, say),
  // but nothing the orders changed: those frames came after the pause.
  t.same(
    slow.messages.filter((message) => !stockIs(STOCK)(message)),
    [],
    'the paused socket read nothing of the orders meanwhile',
  );

  slow.socket.resume();
  await slow.until(stockIs(final), 'the final value once the slow socket reads again');
  for (const [name, socket] of [
    ['slow', slow],
    ['reading', witness],
  ] as const) {
    const received = socket.messages.length - 1;
    t.ok(
      received <= RECEIVED_MESSAGES_MAX,
      `${name} socket: ${received} messages for ${FLOOD_MESSAGES} publications and ${ORDERS} orders`,
    );
    t.same(
      socket.messages.at(-1),
      { ...current, remaining: final },
      `${name} socket: the latest stock is the last`,
    );
  }
});

t.test('the customer socket: ready, then my order statuses and nobody else’s', async (t) => {
  await createSale(stack, 'me', { stock: 10, perCustomerLimit: 2 });
  const path = '/v1/me/live';
  const aliceToken = stack.token('me-alice');
  const alice = await LiveClient.open(
    t,
    liveUrl(gatewayA, `${path}?token=${encodeURIComponent(aliceToken)}`),
  );
  const bob = await LiveClient.open(t, liveUrl(gatewayB, path), {
    headers: { authorization: `Bearer ${stack.token('me-bob')}` },
  });
  for (const socket of [alice, bob]) {
    await socket.until((m) => m.type === 'ready', 'ready');
    t.same(socket.messages[0], { type: 'ready' }, 'ready comes first');
  }
  const logged = gatewayA.logs.map((line) => JSON.stringify(line));
  t.ok(
    logged.some((line) => line.includes('/v1/me/live?token=[redacted]')),
    "alice's request is logged",
  );
  t.notOk(
    logged.some((line) => line.includes(aliceToken)),
    'without the token she gave in the URL',
  );

  const a1 = await placeOverHttp(gatewayA, 'me', 'me-alice');
  const b1 = await placeOverNats('me', 'me-bob');
  const confirmed = await alice.until(statusIs(a1, 'CONFIRMED'), "alice's confirmation");
  t.match(confirmed, { type: 'orderStatus', saleId: 'me', orderId: a1, trackingId: null });
  t.ok(Number.isFinite(Date.parse(confirmed.at as string)), 'with the time of the change');
  await bob.until(statusIs(b1, 'CONFIRMED'), "bob's confirmation");

  const delayed = await client.recordShippingStatus('me', a1, 'SHIPPING_DELAYED', {
    message: 'the carrier is slow today',
  });
  t.ok(delayed.ok, 'delay recorded');
  t.match(await alice.until(statusIs(a1, 'SHIPPING_DELAYED'), 'the delay'), {
    message: 'the carrier is slow today',
    trackingId: null,
  });
  for (const [orderId, socket, trackingId] of [
    [a1, alice, 'TRACK-A1'],
    [b1, bob, 'TRACK-B1'],
  ] as const) {
    const requested = await client.recordShippingStatus('me', orderId, 'SHIPPING_REQUESTED', {
      trackingId,
    });
    t.ok(requested.ok, `shipment of ${orderId} recorded`);
    t.match(await socket.until(statusIs(orderId, 'SHIPPING_REQUESTED'), 'the shipment'), {
      trackingId,
    });
  }

  // A last order each, placed after all of the other's changes: one socket's messages arrive in
  // the order the gateway saw them, so anything of the other customer's would have come first.
  const a2 = await placeOverHttp(gatewayB, 'me', 'me-alice');
  await alice.until(statusIs(a2, 'CONFIRMED'), "alice's second confirmation");
  const b2 = await placeOverHttp(gatewayA, 'me', 'me-bob');
  await bob.until(statusIs(b2, 'CONFIRMED'), "bob's second confirmation");
  const seen = (socket: LiveClient) =>
    socket.messages.slice(1).map((m) => `${m.orderId} ${m.status}`);
  t.same(
    seen(alice),
    [`${a1} CONFIRMED`, `${a1} SHIPPING_DELAYED`, `${a1} SHIPPING_REQUESTED`, `${a2} CONFIRMED`],
    "alice sees all of her changes and none of bob's",
  );
  t.same(
    seen(bob),
    [`${b1} CONFIRMED`, `${b1} SHIPPING_REQUESTED`, `${b2} CONFIRMED`],
    "bob sees all of his changes and none of alice's",
  );

  const anonymous = await refusal(liveUrl(gatewayA, path));
  t.equal(anonymous.status, 401, 'no token: refused before the upgrade');
  t.equal(anonymous.body.error, 'UNAUTHORIZED');
  const forged = mintToken('another-secret-0123456789', { sub: 'me-alice' });
  const wrong = await refusal(liveUrl(gatewayA, `${path}?token=${forged}`));
  t.equal(wrong.status, 401, 'a token signed with another secret: refused');
});

t.test('one NATS subscription per gateway per sale, fanned out to every socket', async (t) => {
  const SOCKETS_PER_GATEWAY = 10;
  await createSale(stack, 'fan', { stock: 50, perCustomerLimit: 2 });
  const sockets = await Promise.all(
    [gatewayA, gatewayB].flatMap((gateway) =>
      Array.from({ length: SOCKETS_PER_GATEWAY }, () =>
        LiveClient.open(t, liveUrl(gateway, '/v1/sales/fan/live')),
      ),
    ),
  );
  await Promise.all(sockets.map((s) => s.until(stockIs(50), 'the stock on connect')));

  const connz = await http(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1`);
  const connections = connz.body.connections as { name?: string; subscriptions_list?: string[] }[];
  for (const name of ['gateway gw-a', 'gateway gw-b']) {
    const connection = connections.find((c) => c.name === name);
    t.ok(connection, `${name} is connected to NATS`);
    const subjects = connection?.subscriptions_list ?? [];
    t.equal(
      subjects.filter((s) => s === saleStockSubject('fan')).length,
      1,
      `${name}: one subscription for ${SOCKETS_PER_GATEWAY} sockets`,
    );
  }

  await placeOverHttp(gatewayB, 'fan', 'fan-alice', 2);
  await Promise.all(sockets.map((s) => s.until(stockIs(48), 'the change')));
  t.ok(
    sockets.every((s) => changes(s.remainings).join() === '50,48'),
    `all ${sockets.length} sockets on both gateways saw 50 then 48, nothing else`,
  );
});

t.test('open sockets are counted in /metrics, and uncounted on close', async (t) => {
  // A gateway of its own, so no other test's sockets are in its counts.
  const gateway = await startGateway(t, nats.url, { GATEWAY_ID: 'gw-metered' });
  await createSale(stack, 'metered', { stock: 5, perCustomerLimit: 1 });
  const gauge = async (route: string) => {
    const text = (await http(`${gateway.url}/metrics`)).body as string;
    const line = new RegExp(
      `^flashsale_gateway_websocket_connections\\{route="${route}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return line === null ? 0 : Number(line[1]);
  };
  const counts = async () => `sale=${await gauge('sale')} me=${await gauge('me')}`;
  t.equal(await counts(), 'sale=0 me=0', 'none before');

  const sales = await Promise.all(
    [1, 2, 3].map(() => LiveClient.open(t, liveUrl(gateway, '/v1/sales/metered/live'))),
  );
  const me = await LiveClient.open(
    t,
    liveUrl(gateway, `/v1/me/live?token=${stack.token('metered-alice')}`),
  );
  await eventually(async () => (await counts()) === 'sale=3 me=1', 'counted on open');
  t.pass('3 sale sockets and 1 customer socket counted');

  await Promise.all(sales.slice(0, 2).map((s) => s.close()));
  await eventually(async () => (await counts()) === 'sale=1 me=1', 'uncounted on close');
  t.pass('closing two sale sockets takes two off');
  await Promise.all([sales[2]!.close(), me.close()]);
  await eventually(async () => (await counts()) === 'sale=0 me=0', 'all uncounted');
  t.pass('back to none');
});

t.test(
  'one customer may hold only so many customer sockets; silent peers are dropped',
  async (t) => {
    const gateway = await startGateway(t, nats.url, {
      GATEWAY_ID: 'gw-keeper',
      WS_CONNECTIONS_PER_CUSTOMER_MAX: '2',
      WS_PING_INTERVAL_MS: '200',
    });
    const meUrl = (customer: string) =>
      liveUrl(gateway, `/v1/me/live?token=${stack.token(customer)}`);
    const mine = await Promise.all([1, 2].map(() => LiveClient.open(t, meUrl('keeper-alice'))));
    for (const socket of mine) await socket.until((m) => m.type === 'ready', 'ready');
    const third = await refusal(meUrl('keeper-alice'));
    t.equal(third.status, 429, 'a third socket of the same customer is refused before the upgrade');
    t.match(third.body, { error: 'RATE_LIMITED', message: /2 live connections open/ });
    const bob = await LiveClient.open(t, meUrl('keeper-bob'));
    await bob.until((m) => m.type === 'ready', 'ready');
    t.pass('another customer is not affected');
    await mine[0]!.close();
    // Polled: the gateway counts the close when its side of the socket has closed too.
    await eventually(async () => {
      try {
        const retry = await LiveClient.open(t, meUrl('keeper-alice'));
        await retry.until((m) => m.type === 'ready', 'ready');
        return true;
      } catch {
        return false;
      }
    }, 'a place freed by a closed socket');
    t.pass('a closed socket frees its place');

    // A peer that never answers a ping (its network gone) is terminated; one that does stays.
    const silent = await LiveClient.open(t, meUrl('keeper-carol'), { autoPong: false });
    const [code] = await once(silent.socket, 'close');
    t.equal(code, 1006, 'the silent peer is cut off without a closing handshake');
    let pings = 0;
    bob.socket.on('ping', () => {
      pings += 1;
    });
    await once(bob.socket, 'ping');
    await once(bob.socket, 'ping');
    t.ok(pings >= 2 && bob.socket.readyState === WebSocket.OPEN, 'a peer that answers stays');
  },
);

// Last in the file: it takes NATS away from the whole stack and brings it back.
t.test(
  'a customer socket opened while NATS is away does not break the ones after it',
  async (t) => {
    // A gateway of its own with no customer socket open yet: the one opened during the outage is
    // the one that subscribes, and its confirmation is what NATS's return throws away.
    const gateway = await startGateway(t, nats.url, { GATEWAY_ID: 'gw-outage' });
    const url = liveUrl(gateway, `/v1/me/live?token=${stack.token('outage-alice')}`);
    await nats.stop();
    const during = await LiveClient.open(t, url);
    const duringOutcome = Promise.race([
      once(during.socket, 'close').then(([code]) => `closed ${code}`),
      during.until((m) => m.type === 'ready', 'ready').then(() => 'ready'),
    ]);
    await nats.restart();
    // That socket is told to retry (1013) or served, depending on when NATS's return drops its
    // confirmation; either is right. What must not happen is what follows.
    await duringOutcome;

    // A socket opened before the gateway is back on NATS is told to retry too; the page waits.
    await eventually(
      async () => (await http(`${gateway.url}/health/ready`)).status === 200,
      'the gateway back on NATS',
    );
    const after = await LiveClient.open(t, url);
    await after.until((m) => m.type === 'ready', 'ready after NATS came back');
    t.pass('a socket opened after the outage is ready');
    // Published as the engine would, on a connection of its own (the file's may still be
    // reconnecting, and would drop it): the subscription reaches this socket again.
    const publisher = await natsClient(t, nats.url);
    const change = {
      orderId: 'me~999',
      customerId: 'outage-alice',
      status: 'SHIPPING_REQUESTED',
      trackingId: 'TRACK-999',
      message: null,
      at: Date.now(),
    };
    publisher.publish(
      ordersStatusSubject('me'),
      encodeMessage({ type: 'orderStatus', saleId: 'me', changes: [change] }),
    );
    await publisher.flush();
    await after.until(
      statusIs('me~999', 'SHIPPING_REQUESTED'),
      'the status published after the outage',
    );
    t.pass('and it sees the statuses published from then on');
  },
);
