import t from 'tap';
import { metricValue, scrapeMetrics } from './helpers/http-checks.js';
import { natsClient, spawnEngine, startEngine, startNats, tempDir } from './helpers/nats.js';
import { http } from './helpers/stack.js';

// The engine's health tells what it does (GET /health on its metrics port, and the
// flashsale_engine_state / flashsale_engine_sales metrics): an engine standing by for a sale
// another engine serves is alive but not serving, and says so, until it takes the sale over.

const SALE = 'health';

t.test('serving, standing by, taking over: each told apart', async (t) => {
  const nats = await startNats(t);
  await natsClient(t, nats.url);
  const owner = await startEngine(t, {
    natsUrl: nats.url,
    walDir: await tempDir(t, 'wal-owner'),
    sales: [SALE],
  });
  const ownerUrl = `http://127.0.0.1:${await owner.metricsPort()}`;
  t.match(
    await http(`${ownerUrl}/health`),
    { status: 200, body: { state: 'serving', serving: [SALE], standby: [], lapsed: [] } },
    'the owner serves the sale',
  );

  // Another WAL may stand by for the sale only if it may adopt it.
  const standby = spawnEngine(t, {
    natsUrl: nats.url,
    walDir: await tempDir(t, 'wal-standby'),
    sales: [SALE],
    env: { ENGINE_SALES_ADOPT: SALE },
  });
  await standby.waitForLog((l) => /standing by until its lease expires/.test(l.msg));
  const standbyUrl = `http://127.0.0.1:${await standby.metricsPort()}`;
  t.match(
    await http(`${standbyUrl}/health`),
    { status: 503, body: { state: 'standby', serving: [], standby: [SALE] } },
    'the standby is not healthy-and-serving: 503, and it says why',
  );
  t.match(await http(`${standbyUrl}/health/live`), { status: 200, body: { state: 'standby' } });
  const metrics = await scrapeMetrics(standbyUrl);
  t.equal(metricValue(metrics, 'flashsale_engine_state', { state: 'standby' }), 1);
  t.equal(metricValue(metrics, 'flashsale_engine_state', { state: 'serving' }), 0);
  t.equal(metricValue(metrics, 'flashsale_engine_sales', { role: 'standby' }), 1);

  await owner.kill('SIGKILL');
  await standby.serving();
  t.match(
    await http(`${standbyUrl}/health`),
    { status: 200, body: { state: 'serving', serving: [SALE], standby: [] } },
    'after the owner died, the standby serves',
  );
  const after = await scrapeMetrics(standbyUrl);
  t.equal(metricValue(after, 'flashsale_engine_sales', { role: 'serving' }), 1);
});
