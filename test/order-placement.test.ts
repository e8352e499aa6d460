import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { mayHaveBeenPlaced, placeOrder } from '../scripts/client/order-placement.js';

// How the burst tool and bench:compare read a reply, against a real HTTP server that answers
// each sale with a canned reply: which outcomes count as accepted, refused, or unknown — the last
// being what the audits must allow for.

const REPLIES: Record<string, { status: number; body: string }> = {
  created: {
    status: 201,
    body: JSON.stringify({ orderId: 's-1', customerId: 'c1', quantity: 2, status: 'CONFIRMED' }),
  },
  'sold-out': { status: 409, body: JSON.stringify({ error: 'SOLD_OUT', message: 'gone' }) },
  overloaded: { status: 503, body: JSON.stringify({ error: 'OVERLOADED', message: 'busy' }) },
  'no-engine': {
    status: 503,
    body: JSON.stringify({ error: 'ENGINE_UNAVAILABLE', message: 'no engine' }),
  },
  internal: { status: 500, body: JSON.stringify({ error: 'INTERNAL_ERROR', message: 'oops' }) },
  'no-code': { status: 502, body: '<html>bad gateway</html>' },
  'no-order': { status: 201, body: '{}' },
  'null-order': { status: 200, body: 'null' },
};

const seen: { url: string; idempotencyKey: string | undefined; auth: string | undefined }[] = [];
const server = createServer((request, response) => {
  seen.push({
    url: request.url ?? '',
    idempotencyKey: request.headers['idempotency-key'] as string | undefined,
    auth: request.headers.authorization,
  });
  const sale = decodeURIComponent(request.url?.split('/')[3] ?? '');
  const reply = REPLIES[sale] ?? { status: 404, body: '{"error":"SALE_NOT_FOUND"}' };
  response.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
t.teardown(() => server.close());
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

t.test('an order, each refusal and each non-answer is sorted as the audits need', async (t) => {
  const outcomes = Object.fromEntries(
    await Promise.all(
      Object.keys(REPLIES).map(async (sale) => [sale, await placeOrder(base, sale, 'tok', 2)]),
    ),
  );
  t.same(outcomes.created, {
    kind: 'accepted',
    status: 201,
    orderId: 's-1',
    customerId: 'c1',
    quantity: 2,
  });
  t.same(outcomes['sold-out'], { kind: 'rejected', status: 409, code: 'SOLD_OUT' });
  t.equal(outcomes['no-code'].kind, 'failed', 'a 5xx outside the catalogue is no answer');
  t.equal(outcomes['no-order'].kind, 'failed', 'a 201 without an order is no answer');
  t.same(outcomes['null-order'], { kind: 'failed', reason: '200 without an order' });

  const unknown = Object.keys(REPLIES).filter((sale) => mayHaveBeenPlaced(outcomes[sale]));
  t.same(
    unknown.sort(),
    ['internal', 'no-code', 'no-engine', 'no-order', 'null-order'],
    'only the replies after which the engine may have decided leave the order open',
  );
});

t.test('every request carries the token and a fresh idempotency key', async (t) => {
  seen.length = 0;
  await Promise.all([placeOrder(base, 'a/b', 'tok', 1), placeOrder(base, 'a/b', 'tok', 1)]);
  t.same(
    seen.map((s) => s.url),
    ['/v1/sales/a%2Fb/orders', '/v1/sales/a%2Fb/orders'],
    'the sale id is one path segment',
  );
  t.ok(seen.every((s) => s.auth === 'Bearer tok'));
  t.not(seen[0]!.idempotencyKey, seen[1]!.idempotencyKey);
});

t.test('no server at all is a failure, not a refusal', async (t) => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const { port } = closed.address() as AddressInfo;
  closed.close();
  await once(closed, 'close');
  const outcome = await placeOrder(`http://127.0.0.1:${port}`, 'created', 'tok', 1);
  t.equal(outcome.kind, 'failed');
  t.ok(mayHaveBeenPlaced(outcome));
});
