import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { CarrierBreaker } from '../shipping-agent/carrier-breaker.js';
import { CarrierClient } from '../shipping-agent/carrier-client.js';
import { loadAgentConfig } from '../shipping-agent/config.js';

// A carrier call the carrier never answers ends at the breaker's timeout, connection and all,
// even when the client's own timeouts are longer: otherwise each hung call would keep one of the
// pool's connections for CARRIER_HEADERS_TIMEOUT_MS after the delivery gave up on it.

const ORDER = { orderId: 's~1', saleId: 's', customerId: 'alice', quantity: 1, createdAt: 0 };
const BREAKER_TIMEOUT_MS = 200;
/** Far longer than the breaker's timeout: a call cut only by it would outlive the test. */
const HEADERS_TIMEOUT_MS = 30_000;
const CLOSE_WAIT_MS = 2_000;

t.test('a hung call is cut at the breaker timeout, its connection too', async (t) => {
  const held: IncomingMessage[] = [];
  const server = createServer((req) => held.push(req));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const config = loadAgentConfig({
    BREAKER_TIMEOUT_MS: String(BREAKER_TIMEOUT_MS),
    CARRIER_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
  });
  const carrier = new CarrierClient(
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    config.carrier,
  );
  const breaker = new CarrierBreaker(carrier, config.breaker, pino({ level: 'silent' }), () =>
    performance.now(),
  );
  t.teardown(async () => {
    breaker.shutdown();
    await carrier.close();
  });

  const started = performance.now();
  await t.rejects(breaker.fire(ORDER), { code: 'ETIMEDOUT' }, 'the breaker gives up on it');
  t.ok(performance.now() - started < HEADERS_TIMEOUT_MS / 2, 'at its own timeout');
  t.equal(held.length, 1, 'the carrier had the call');
  const closed = once(held[0]!.socket, 'close');
  const cut = await Promise.race([closed.then(() => true), delay(CLOSE_WAIT_MS, false)]);
  t.ok(cut, 'and the connection was closed, not left to the client timeout');
});
