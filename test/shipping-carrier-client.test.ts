import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { CARRIER_REPLY_BYTES_MAX, CarrierClient } from '../shipping-agent/carrier-client.js';
import { loadAgentConfig } from '../shipping-agent/config.js';

// The agent's carrier client against a carrier that answers badly, over real HTTP: every bad
// reply is a CarrierError (a failed attempt, retried and counted by the breaker), never a crash,
// and a huge reply is not read to its end.

const ORDER = { orderId: 's~1', saleId: 's', customerId: 'alice', quantity: 1, createdAt: 0 };

/** A carrier whose every reply is `answer`. */
async function carrier(t: Test, answer: (res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => answer(res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = new CarrierClient(
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    loadAgentConfig({}).carrier,
  );
  t.teardown(() => client.close());
  return client;
}

const json = (status: number, body: string) => (res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);

t.test('a good reply gives the tracking id', async (t) => {
  const client = await carrier(t, json(201, '{"trackingId":"TRACK-1"}'));
  t.same(await client.requestShipment(ORDER), { trackingId: 'TRACK-1' });
});

t.test('bad replies are carrier errors, with the status', async (t) => {
  const cases: [string, (res: ServerResponse) => void, RegExp, number][] = [
    ['not JSON', json(200, '<html>ok</html>'), /not JSON/, 200],
    ['JSON null', json(200, 'null'), /no trackingId/, 200],
    ['no trackingId', json(200, '{"id":1}'), /no trackingId/, 200],
    ['an empty trackingId', json(200, '{"trackingId":""}'), /no trackingId/, 200],
    ['a 503', json(503, '{"error":"busy"}'), /answered 503/, 503],
  ];
  for (const [what, answer, message, status] of cases) {
    const client = await carrier(t, answer);
    await t.rejects(client.requestShipment(ORDER), { name: 'Error', message, status }, what);
  }
});

t.test('a reply over the bound is refused without reading it all', async (t) => {
  let written = 0;
  const client = await carrier(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // Endless: only a client that stops reading ends this reply.
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const more = () => {
      while (res.write(chunk)) written += chunk.length;
    };
    res.on('drain', more);
    more();
  });
  await t.rejects(client.requestShipment(ORDER), { message: /too large/, status: 200 });
  t.ok(written < 100 * CARRIER_REPLY_BYTES_MAX, 'the carrier could not push on for ever');
});
