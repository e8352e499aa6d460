import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import t from 'tap';
import { ORDERS_STREAM, saleCommandSubject } from '../engine/protocol/index.js';
import { ensureOrdersStream } from '../engine/shell/streams.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// The engine's Prometheus endpoint: request outcomes as they happen, and the outbox backlog, which
// grows while JetStream refuses the outbox's messages and drains once it takes them again.

const BACKLOG_ORDERS = 7;
const DRAIN_WAIT_MS = 15_000;
const DRAIN_POLL_MS = 50;

async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`);
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

const outcome = (kind: string, code: string) =>
  `flashsale_engine_requests_total{kind="${kind}",outcome="${code}"}`;

t.test('request outcomes and the outbox backlog are visible in /metrics', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const engine = await startEngine(t, {
    natsUrl: nats.url,
    walDir: await tempDir(t, 'wal'),
    sales: ['m'],
  });
  const port = await engine.metricsPort();
  const client = new EngineClient(nc);
  await client.configureSale('m', { stock: 100, perCustomerLimit: 1 });
  await client.placeOrder('m', 'a');
  await client.placeOrder('m', 'a');
  await nc.request(saleCommandSubject('m'), new TextEncoder().encode('not json'));
  await client.sale('m');

  let metrics = await scrape(port);
  t.equal(metrics.get(outcome('command', 'ok')), 2, 'configure + one order accepted');
  t.equal(metrics.get(outcome('command', 'LIMIT_EXCEEDED')), 1);
  t.equal(metrics.get(outcome('command', 'INVALID_REQUEST')), 1);
  t.equal(metrics.get(outcome('query', 'ok')), 1);
  t.equal(metrics.get('flashsale_engine_sales_leased'), 1);
  t.equal(metrics.get('flashsale_engine_mailbox_commands'), 0);
  t.ok((metrics.get('flashsale_engine_wal_flushes_total') ?? 0) >= 2, 'group commits counted');
  t.equal(
    metrics.get('flashsale_engine_wal_durable_lsn'),
    metrics.get('flashsale_engine_wal_last_lsn'),
  );
  t.ok(metrics.has('process_cpu_seconds_total'), 'process metrics too');

  // JetStream refuses the outbox: the stream is gone. Orders are still accepted, and wait.
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(ORDERS_STREAM);
  for (let i = 0; i < BACKLOG_ORDERS; i += 1) {
    const reply = await client.placeOrder('m', `b${i}`);
    t.ok(reply.ok, 'accepted while the stream is missing');
  }
  await engine.waitForLog((line) => line.msg.startsWith('outbox cannot reach JetStream'));
  metrics = await scrape(port);
  t.equal(metrics.get('flashsale_engine_outbox_backlog'), BACKLOG_ORDERS, 'the backlog shows');
  t.ok((metrics.get('flashsale_engine_outbox_publish_failures_total') ?? 0) > 0, 'failures too');

  await ensureOrdersStream(jsm, 60_000, pino({ level: 'silent' }));
  await engine.waitForLog((line) => line.msg === 'outbox publishing again', DRAIN_WAIT_MS);
  // The backlog reaches 0 a moment after the log line (the last acks are still arriving).
  const deadline = Date.now() + DRAIN_WAIT_MS;
  do {
    metrics = await scrape(port);
    if (metrics.get('flashsale_engine_outbox_backlog') === 0) break;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  } while (Date.now() < deadline);
  t.equal(metrics.get('flashsale_engine_outbox_backlog'), 0, 'the backlog drained');
  t.equal(metrics.get('flashsale_engine_outbox_published_total'), 1 + BACKLOG_ORDERS);
  t.equal(
    metrics.get('flashsale_engine_outbox_watermark_lsn'),
    metrics.get('flashsale_engine_wal_last_lsn'),
    'the watermark caught up with the log',
  );

  const notFound = await fetch(`http://127.0.0.1:${port}/nope`);
  t.equal(notFound.status, 404);
});
