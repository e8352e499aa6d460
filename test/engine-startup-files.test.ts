import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { EngineClient } from '../scripts/client/engine-client.js';
import { natsClient, spawnEngine, startEngine, startNats, tempDir } from './helpers/nats.js';

// The small files an engine keeps next to its WAL, damaged the way a power loss or a full disk
// leaves them (empty): a damaged outbox watermark only means re-publishing the whole log, so the
// engine starts, with a warning; a damaged identity next to WAL data can't be made up again, so
// the engine refuses to start and names the file.

t.test('an empty outbox watermark: the engine starts, warns, and keeps its orders', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const options = { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: ['w'] };
  const first = await startEngine(t, options);
  const client = new EngineClient(nc);
  await client.configureSale('w', { stock: 10, perCustomerLimit: 1 });
  t.ok((await client.placeOrder('w', 'ann')).ok);
  await first.kill('SIGTERM');

  await writeFile(join(options.walDir, 'outbox-watermark.json'), '');
  const second = await startEngine(t, options);
  const warning = await second.waitForLog((line) => line.msg.startsWith('outbox watermark'));
  t.match(warning, { msg: /re-publishing the whole log/ });
  t.equal((await client.sale('w')).remaining, 9, 'the order is still there');
});

t.test('an empty identity next to WAL data: the engine refuses, naming the file', async (t) => {
  const nats = await startNats(t);
  const options = { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: ['i'] };
  const first = await startEngine(t, options);
  await first.kill('SIGTERM');

  const identity = join(options.walDir, 'identity.json');
  await writeFile(identity, '');
  const second = spawnEngine(t, options);
  const failure = await second.waitForLog((line) => line.msg.startsWith('engine failed to start'));
  t.match(failure.msg, `${identity} is empty, but its directory holds WAL data`);
  t.equal((await second.exited).code, 1, 'the engine exited');
});
