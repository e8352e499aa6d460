import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Teardown } from './helpers/nats.js';
import { runTool } from './helpers/tool-run.js';

// The burst audit must not pass a burst that exercised nothing. A stub gateway (real HTTP) shows
// an OPEN sale with its whole stock and answers every order 503 OVERLOADED: nothing was sold, so
// nothing was checked, and the audit says UNCHECKED and fails (exit 1) instead of "AUDIT passed".
// Against a sale that is SOLD_OUT, refusals are the right outcome and the audit still passes.

const STOCK_UNITS = 100;
const EXIT_AUDIT_FAILED = 1;

interface StubSale {
  readonly status: 'OPEN' | 'SOLD_OUT';
  readonly remaining: number;
  /** What every order gets. */
  readonly refusal: { readonly status: number; readonly error: string };
}

function send(res: ServerResponse, status: number, body: object, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A gateway that knows one sale and refuses every order to it; its base URL. */
async function stubGateway(t: Teardown, sale: StubSale): Promise<string> {
  const server = createServer((req, res) => {
    const saleRoute = /^\/v1\/sales\/([A-Za-z0-9_-]+)(\/orders)?$/.exec(req.url ?? '');
    req.resume();
    if (saleRoute === null) return send(res, 404, { error: 'NOT_FOUND', message: 'stub' });
    const [, saleId, orders] = saleRoute;
    if (orders === undefined && req.method === 'GET')
      return send(res, 200, {
        saleId,
        name: saleId,
        stock: STOCK_UNITS,
        remaining: sale.remaining,
        perCustomerLimit: 2,
        status: sale.status,
      });
    const { status, error } = sale.refusal;
    send(res, status, { error, message: `stub: ${error}` }, { 'retry-after': '1' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const burstAgainst = (url: string) =>
  runTool('burst', [
    ...['--url', url, '--sale', 'stubbed', '--no-create', '--seed', '1'],
    ...['--customers', '20', '--requests', '100', '--concurrency', '20'],
  ]);

t.test('every order OVERLOADED on an open sale: UNCHECKED, audit failed, exit 1', async (t) => {
  const url = await stubGateway(t, {
    status: 'OPEN',
    remaining: STOCK_UNITS,
    refusal: { status: 503, error: 'OVERLOADED' },
  });
  const run = await burstAgainst(url);
  t.equal(run.exit, EXIT_AUDIT_FAILED, `exit 1; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  t.match(run.stdout, /^\s+UNCHECKED\s+no order was accepted although sale stubbed is OPEN/m);
  t.match(run.stdout, /OVERLOADED \(503\) ×100/, 'it names what the orders got');
  t.match(run.stdout, /^AUDIT FAILED/m);
  t.notMatch(run.stdout, /AUDIT passed/);
});

t.test('every order SOLD_OUT on a sold-out sale: nothing to sell, the audit passes', async (t) => {
  const url = await stubGateway(t, {
    status: 'SOLD_OUT',
    remaining: 0,
    refusal: { status: 409, error: 'SOLD_OUT' },
  });
  const run = await burstAgainst(url);
  t.equal(run.exit, 0, `exit 0; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  t.match(run.stdout, /^AUDIT passed/m);
  t.notMatch(run.stdout, /UNCHECKED|BROKEN/);
});
