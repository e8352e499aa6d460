import t from 'tap';
import { createSale, http, startGateway, startStack } from './helpers/stack.js';

// What a gateway logs about requests, through a real gateway process: at `info` no line per
// request (a burst wrote two per request, and paid more for them than for the answers), but a
// summary per LOG_SUMMARY_INTERVAL_MS and a warning for each request slower than
// LOG_SLOW_REQUEST_MS; at `debug` Fastify's own lines per request are back.

const SALE = 'logs';
const REQUESTS = 12;
const SUMMARY_INTERVAL_MS = 200;
const PER_REQUEST_MESSAGES = ['incoming request', 'request completed'];

t.test('request logs by level', async (t) => {
  const stack = await startStack(t, {
    sales: [SALE],
    gatewayEnv: { LOG_SUMMARY_INTERVAL_MS: String(SUMMARY_INTERVAL_MS) },
  });
  await createSale(stack, SALE, { stock: 5, perCustomerLimit: 2 });
  const [info] = stack.gateways;

  await t.test('info: a summary line, no line per request', async (t) => {
    const reads = Array.from({ length: REQUESTS }, () => http(`${info!.url}/v1/sales/${SALE}`));
    t.same(
      (await Promise.all(reads)).map((reply) => reply.status),
      Array(REQUESTS).fill(200),
    );
    // Each line counts its own interval: the requests may span several.
    const summed = () =>
      info!.logs
        .filter((l) => l.msg === 'requests summary')
        .reduce((sum, l) => sum + Number(l.requests), 0);
    const line = await info!.waitForLog(
      (l) => l.msg === 'requests summary' && summed() >= REQUESTS,
    );
    t.match(line, { statuses: { '2xx': Number }, p50Ms: Number, p99Ms: Number });
    t.notOk(
      info!.logs.some((l) => PER_REQUEST_MESSAGES.includes(l.msg)),
      'no per-request line at info',
    );
  });

  await t.test('a request slower than LOG_SLOW_REQUEST_MS is logged at warn', async (t) => {
    // 1 ms: any request that goes to the engine and back takes longer.
    const slow = await startGateway(t, stack.nats.url, { LOG_SLOW_REQUEST_MS: '1' });
    t.equal((await http(`${slow.url}/v1/sales/${SALE}`)).status, 200);
    const line = await slow.waitForLog((l) => l.msg === 'slow request');
    t.match(line, { level: 40, method: 'GET', route: '/v1/sales/:saleId', status: 200 });
  });

  await t.test('debug: Fastify logs each request again', async (t) => {
    const debug = await startGateway(t, stack.nats.url, { LOG_LEVEL: 'debug' });
    t.equal((await http(`${debug.url}/v1/sales/${SALE}`)).status, 200);
    await debug.waitForLog((l) => l.msg === 'request completed');
    t.pass('a line per request at debug');
  });
});
