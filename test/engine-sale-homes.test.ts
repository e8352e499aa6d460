import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import t from 'tap';
import { ORDER_SEQUENCES_PER_HOME, SaleHomes } from '../engine/shell/sale-homes.js';
import { natsClient, startNats } from './helpers/nats.js';

// The record of which WAL a sale lives in, against a real JetStream KV: the first claim makes a
// home, another WAL is refused unless it adopts the sale, and an adoption is visible to the
// engine that lost the home (its lease, taken again after an outage, must not serve stale state).

const logger = pino({ level: 'silent' });
const conflict = { name: 'SaleHomeConflictError' };

/** An engine's sale homes on WAL `walId`, adopting the sales of `adopt` (from the WAL named, or any). */
const homesOn =
  (nc: NatsConnection) =>
  (walId: string, adopt: Record<string, string | null> = {}) =>
    SaleHomes.open(
      nc,
      { walId, walDir: `/data/${walId}`, engineId: `engine-${walId}` },
      new Map(Object.entries(adopt)),
      logger,
    );

t.test('sale homes: claim, refuse, adopt', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const engine = homesOn(nc);
  const a = await engine('wal-a');
  const b = await engine('wal-b');
  const c = await engine('wal-c', { x: null });

  await a.check(['x']);
  await a.claim('x', false);
  t.ok(await a.resume('x'), 'the first claim makes the home');
  await a.claim('x', false);
  t.ok(await a.resume('x'), 'claiming its own home again changes nothing');

  await t.rejects(b.check(['x', 'y']), conflict, 'another WAL is refused at check');
  await t.rejects(
    b.check(['x']),
    {
      message:
        /sale x lives in WAL wal-a \(\/data\/wal-a of engine engine-wal-a on .*ENGINE_SALES_ADOPT=x@wal-a$/,
    },
    'naming the home and the way out',
  );
  await b.check(['y']);
  await t.rejects(b.claim('x', false), conflict, 'and at claim');
  t.ok(await a.resume('x'), 'a refused claim leaves the home alone');

  await c.check(['x']);
  await c.claim('x', false);
  t.ok(await c.resume('x'), 'an adopting engine (any former home) takes the home');
  t.notOk(await a.resume('x'), 'and the former home sees it moved');
  await t.rejects(a.check(['x']), conflict, 'the former home is now refused');

  const fresh = await engine('wal-a');
  t.ok(await fresh.resume('y'), 'a sale without a home was adopted by nobody');
  await t.rejects(b.check(['y']), conflict, 'and resuming wrote its home again');
});

t.test('sale homes: <saleId>@<walId> adopts from that WAL only, once', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const engine = homesOn(nc);
  const a = await engine('wal-a');
  await a.claim('x', false);

  const wrongSource = await engine('wal-b', { x: 'wal-z' });
  await t.rejects(
    wrongSource.check(['x']),
    { message: /ENGINE_SALES_ADOPT takes it from WAL wal-z only.*ENGINE_SALES_ADOPT=x@wal-a$/ },
    'a rule naming another WAL than the home is refused, and says which',
  );
  await t.rejects(wrongSource.claim('x', false), conflict, 'under the lease as well');
  t.ok(await a.resume('x'), 'leaving the home alone');

  const mover = await engine('wal-c', { x: 'wal-a' });
  await mover.check(['x']);
  await mover.claim('x', false);
  t.notOk(await a.resume('x'), 'the rule moves the sale from the WAL it names');
  await mover.claim('x', false);
  t.ok(await mover.resume('x'), 'left in place, it is spent: the sale stays');

  const copied = await engine('wal-d', { x: 'wal-a' });
  await t.rejects(copied.check(['x']), conflict, 'copied to another engine, it moves nothing');
  await t.rejects(copied.claim('x', false), conflict);
  t.ok(await mover.resume('x'), 'the sale stays where the rule first moved it');
});

t.test('sale homes: each adoption numbers orders in a range of its own', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const engine = homesOn(nc);
  const first = await engine('wal-a');
  await first.claim('x', false);
  t.equal(first.firstOrderSequence('x'), 1, 'the first home numbers from 1, as ever');

  const second = await engine('wal-b', { x: 'wal-a' });
  await second.claim('x', false);
  t.equal(second.firstOrderSequence('x'), ORDER_SEQUENCES_PER_HOME + 1, 'the next home above it');
  const restarted = await engine('wal-b');
  await restarted.claim('x', true);
  t.equal(
    restarted.firstOrderSequence('x'),
    ORDER_SEQUENCES_PER_HOME + 1,
    'read back from the home when the engine restarts',
  );
  const third = await engine('wal-c', { x: null });
  await third.claim('x', false);
  t.equal(third.firstOrderSequence('x'), 2 * ORDER_SEQUENCES_PER_HOME + 1, 'and so on');

  const back = await engine('wal-a', { x: null });
  await t.rejects(
    back.check(['x'], () => true),
    { message: /can't be adopted back here/ },
    'refused at the check, before any home moves',
  );
  await back.check(['x'], () => false);
  await t.rejects(
    back.claim('x', true),
    { name: 'SaleHomeConflictError', message: /lived in this WAL .* can't be adopted back here/ },
    'a WAL that still holds an old state of the sale does not take it back',
  );
  t.ok(await third.resume('x'), 'and the home stays where it was');
});
