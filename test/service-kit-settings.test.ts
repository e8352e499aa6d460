import { pino } from 'pino';
import t from 'tap';
import { loadEngineConfig } from '../engine/shell/config.js';
import { loadGatewayConfig } from '../gateway/config.js';
import { freePort } from '../scripts/stack/free-port.js';
import { connectNats } from '../service-kit/nats-connect.js';
import { natsServers } from '../service-kit/settings.js';
import { startNats } from './helpers/nats.js';

// The settings every service shares (service-kit/settings.ts): NATS_URL may list a cluster's
// servers, comma-separated, and every service reads it the same way.

t.test('NATS_URL: one server or a list', async (t) => {
  t.same(natsServers('nats://a:4222'), ['nats://a:4222']);
  t.same(natsServers('nats://a:1, nats://b:2 ,nats://c:3'), [
    'nats://a:1',
    'nats://b:2',
    'nats://c:3',
  ]);
  t.throws(() => natsServers('nats://a:1,,nats://b:2'), /empty server/);
  const list = 'nats://a:1,nats://b:2';
  t.equal(loadGatewayConfig({ NATS_URL: list }).natsUrl, list, 'the gateway takes a list');
  t.equal(loadEngineConfig({ NATS_URL: list }).natsUrl, list, 'the engine takes a list');
  t.throws(() => loadGatewayConfig({ NATS_URL: 'nats://a:1,' }), /NATS_URL/);
  t.throws(() => loadEngineConfig({ NATS_URL: ',nats://a:1' }), /NATS_URL/);
});

t.test('JETSTREAM_REPLICAS: 1 by default, 3 in a cluster, never an even count', async (t) => {
  t.equal(loadEngineConfig({}).replicas, 1);
  t.equal(loadEngineConfig({ JETSTREAM_REPLICAS: '3' }).replicas, 3);
  t.throws(() => loadEngineConfig({ JETSTREAM_REPLICAS: '2' }), /JETSTREAM_REPLICAS/);
});

t.test('a list with a server down connects to one that answers', async (t) => {
  const nats = await startNats(t);
  const down = `nats://127.0.0.1:${await freePort()}`;
  const nc = await connectNats({
    natsUrl: `${down},${nats.url}`,
    name: 'settings test',
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => nc.close());
  await nc.flush();
  t.pass('connected and flushed');
});
