import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { closedLoop } from '../bench/load/closed-loop.js';
import { endpointOf } from '../bench/load/load-connection.js';
import { openLoop } from '../bench/load/open-loop.js';
import { orderRequests } from '../bench/load/request-pool.js';
import { TokenPool } from '../scripts/client/token-pool.js';
import type { Teardown } from './helpers/nats.js';

// The benches' load generator against a node:http server of the test's own that notes every
// request: each order carries its own customer's token (none repeats while the pool lasts), every
// request sent is answered, and the counts the generator reports add up to what the server saw —
// for the closed loop for a time and as a burst, and for the open loop. The server closes some
// connections after replying, as a server may: the generator opens them again.

const SECRET = 'test-load-generator-secret-0123456789';
const CONNECTIONS = 20;
/** Every this many order, the reply says `connection: close`. */
const CLOSE_EVERY = 50;

interface Seen {
  orders: number;
  readonly authorizations: Set<string>;
  readonly keys: Set<string>;
}

async function orderServer(t: Teardown): Promise<{ url: string; seen: Seen }> {
  const seen: Seen = { orders: 0, authorizations: new Set(), keys: new Set() };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'GET')
        return response.writeHead(200, { 'content-length': 2 }).end('ok');
      seen.orders += 1;
      seen.authorizations.add(String(request.headers.authorization));
      const key = request.headers['idempotency-key'];
      if (typeof key === 'string') seen.keys.add(key);
      const body = JSON.stringify({ orderId: `o-${seen.orders}` });
      const close = seen.orders % CLOSE_EVERY === 0 ? { connection: 'close' } : {};
      response.writeHead(seen.orders % 3 === 0 ? 409 : 201, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...close,
      });
      response.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const sum = (counts: Readonly<Record<string, number>>): number =>
  Object.values(counts).reduce((a, b) => a + b, 0);

t.test('closed loop for a time: distinct tokens, every request answered', async (t) => {
  const { url, seen } = await orderServer(t);
  const customers = new TokenPool(SECRET, 20_000, 'lg-');
  const pool = orderRequests({ endpoint: endpointOf(url), saleId: 's1', customers });
  const run = await closedLoop({
    url,
    connections: CONNECTIONS,
    pool,
    shape: { warmUpMs: 200, measureMs: 500 },
    processes: [],
  });
  t.ok(run.sent > CONNECTIONS, `sent ${run.sent}`);
  t.equal(run.answered, run.sent, 'every request answered');
  t.equal(run.failed, 0, 'none failed');
  t.equal(seen.orders, run.sent, 'the server saw every request once');
  t.equal(run.repeated, 0, 'the pool was not used up');
  t.equal(seen.authorizations.size, run.sent, 'each request a token of its own');
  t.equal(sum(run.outcomes), run.latenciesMs.length, 'one latency per measured reply');
  t.ok(run.latenciesMs.length > 0 && run.latenciesMs.length <= run.answered, 'measured ⊆ answered');
  t.strictSame(Object.keys(run.outcomes).sort(), ['201', '409'], 'statuses as the server sent');
  t.ok(run.perSecond > 0 && run.windowMs === 500, 'a rate over the window');
});

t.test('closed loop as a burst: exactly N requests, all measured, bodies kept', async (t) => {
  const { url, seen } = await orderServer(t);
  const customers = new TokenPool(SECRET, 300, 'lg-burst-');
  const pool = orderRequests({
    endpoint: endpointOf(url),
    saleId: 's2',
    customers,
    idempotencyKeyPrefix: 'k-',
  });
  const run = await closedLoop({
    url,
    connections: CONNECTIONS,
    pool,
    shape: { requests: 1_000 },
    keep: (index, status) => status === 201 && index % 10 === 0,
  });
  t.equal(run.sent, 1_000);
  t.equal(run.answered, 1_000, 'every request answered');
  t.equal(sum(run.outcomes), 1_000, 'every request measured');
  t.equal(seen.orders, 1_000);
  t.equal(run.repeated, 700, 'the 300-customer pool went round again');
  t.equal(seen.authorizations.size, 300, 'each of its tokens sent');
  t.equal(seen.keys.size, 300, 'an idempotency key per customer');
  t.ok(run.kept.length > 0, 'kept what was asked for');
  for (const kept of run.kept) {
    t.equal(kept.status, 201);
    t.equal(kept.index % 10, 0);
    t.match(kept.body.toString(), /^\{"orderId":"o-\d+"\}$/);
  }
});

t.test('open loop: the schedule sent in full, every request answered', async (t) => {
  const { url, seen } = await orderServer(t);
  const customers = new TokenPool(SECRET, 5_000, 'lg-open-');
  const pool = orderRequests({ endpoint: endpointOf(url), saleId: 's3', customers });
  const run = await openLoop({
    url,
    connections: CONNECTIONS,
    pool,
    ratePerS: 2_000,
    warmUpMs: 200,
    measureMs: 500,
  });
  t.equal(run.sent, 1_400, '2,000/s for 0.7 s');
  t.equal(run.answered, run.sent, 'every request answered');
  t.equal(seen.orders, run.sent);
  t.equal(seen.authorizations.size, run.sent, 'each request a token of its own');
  t.equal(sum(run.outcomes), 1_000, 'the requests scheduled in the window are the measured ones');
});

t.test('a server that is gone: requests fail, and are counted', async (t) => {
  const { url } = await orderServer(t);
  const customers = new TokenPool(SECRET, 10, 'lg-gone-');
  // A port nobody listens on: the generator can't even open its connections.
  const gone = url.replace(/:\d+$/, ':1');
  const pool = orderRequests({ endpoint: endpointOf(gone), saleId: 's4', customers });
  await t.rejects(
    closedLoop({ url: gone, connections: 2, pool, shape: { requests: 5 } }),
    /opening a connection: ECONNREFUSED/,
  );
});

t.test(
  'a server that drops requests: each is counted failed, and the counts still add up',
  async (t) => {
    let orders = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (request.method === 'GET')
          return response.writeHead(200, { 'content-length': 2 }).end('ok');
        orders += 1;
        // Every 7th order: the connection is cut with no reply.
        if (orders % 7 === 0) return request.socket.destroy();
        response.writeHead(201, { 'content-length': 2 }).end('{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const customers = new TokenPool(SECRET, 700, 'lg-drop-');
    const pool = orderRequests({ endpoint: endpointOf(url), saleId: 's5', customers });
    const run = await closedLoop({ url, connections: 5, pool, shape: { requests: 700 } });
    t.equal(run.sent, 700);
    t.equal(run.answered + run.failed, run.sent, 'sent = answered + failed');
    t.equal(run.failed, 100, 'every cut request failed');
    t.equal(run.failures.length, 100, 'and is listed by its index');
    t.equal(run.outcomes['201'], 600);
    t.equal(sum(run.outcomes), 700, 'the failures among the outcomes');
  },
);
