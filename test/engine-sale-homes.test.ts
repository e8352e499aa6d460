import { pino } from 'pino';
import t from 'tap';
import { SaleHomes } from '../engine/shell/sale-homes.js';
import { natsClient, startNats } from './helpers/nats.js';

// The record of which WAL a sale lives in, against a real JetStream KV: the first claim makes a
// home, another WAL is refused unless it adopts the sale, and an adoption is visible to the
// engine that lost the home (its lease, taken again after an outage, must not serve stale state).

const logger = pino({ level: 'silent' });
const conflict = { name: 'SaleHomeConflictError' };

t.test('sale homes: claim, refuse, adopt', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const engine = (walId: string, adopt: string[] = []) =>
    SaleHomes.open(
      nc,
      { walId, walDir: `/data/${walId}`, engineId: `engine-${walId}` },
      adopt,
      logger,
    );
  const a = await engine('wal-a');
  const b = await engine('wal-b');
  const c = await engine('wal-c', ['x']);

  await a.check(['x']);
  await a.claim('x');
  t.ok(await a.resume('x'), 'the first claim makes the home');
  await a.claim('x');
  t.ok(await a.resume('x'), 'claiming its own home again changes nothing');

  await t.rejects(b.check(['x', 'y']), conflict, 'another WAL is refused at check');
  await t.rejects(
    b.check(['x']),
    {
      message:
        /sale x lives in WAL wal-a \(\/data\/wal-a of engine engine-wal-a on .*ENGINE_SALES_ADOPT=x/,
    },
    'naming the home and the way out',
  );
  await b.check(['y']);
  await t.rejects(b.claim('x'), conflict, 'and at claim');
  t.ok(await a.resume('x'), 'a refused claim leaves the home alone');

  await c.check(['x']);
  await c.claim('x');
  t.ok(await c.resume('x'), 'an adopting engine takes the home');
  t.notOk(await a.resume('x'), 'and the former home sees it moved');
  await t.rejects(a.check(['x']), conflict, 'the former home is now refused');

  const fresh = await engine('wal-a');
  t.ok(await fresh.resume('y'), 'a sale without a home was adopted by nobody');
  await t.rejects(b.check(['y']), conflict, 'and resuming wrote its home again');
});
