import { setTimeout as delay } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import { pino } from 'pino';
import t from 'tap';
import { LEASE_BUCKET } from '../engine/protocol/subjects.js';
import { SaleLeases } from '../engine/shell/lease.js';
import { natsClient, startNats } from './helpers/nats.js';

// Recovering a large WAL blocks the engine's event loop, no renewal runs, and its leases may
// expire meanwhile. Before it claims its sales' homes the engine reaffirms them: a lease that
// expired and is free is taken again; one another engine took meanwhile stops the start.

const LEASE_TTL_MS = 1_000;
/** How long nats-server may take past the TTL to drop an expired key. */
const EXPIRY_WAIT_MS_MAX = 10_000;
const POLL_INTERVAL_MS = 50;
const logger = pino({ level: 'silent' });

t.test('leases that expired during recovery are taken again, or the start stops', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const open = (engineId: string, walId: string) =>
    SaleLeases.open(nc, LEASE_TTL_MS, { engineId, walId }, logger);
  const kv = await new Kvm(nc).open(LEASE_BUCKET);
  /** Polled: the server drops an expired key on its own schedule, with no event to await. */
  const expired = async (saleId: string) => {
    const deadline = Date.now() + EXPIRY_WAIT_MS_MAX;
    while ((await kv.get(saleId))?.operation === 'PUT') {
      if (Date.now() > deadline) throw new Error(`lease of ${saleId} never expired`);
      await delay(POLL_INTERVAL_MS);
    }
  };

  const recovering = await open('recovering', 'wal-a');
  await recovering.acquireAll(['free', 'taken'], new AbortController().signal);
  t.equal(recovering.validCount, 2, 'both leases held');
  await Promise.all([expired('free'), expired('taken')]);
  t.equal(recovering.isValid('free'), false, 'lapsed while it could not renew');

  await recovering.reaffirmAll();
  t.ok(recovering.isValid('free') && recovering.isValid('taken'), 'taken again, both free');

  await Promise.all([expired('free'), expired('taken')]);
  const other = await open('other', 'wal-b');
  await other.acquireAll(['taken'], new AbortController().signal);
  await t.rejects(
    recovering.reaffirmAll(),
    { message: /lost the lease of sale taken while the WAL was recovered \(engine other/ },
    'one another engine took meanwhile stops the start',
  );
  t.ok(other.isValid('taken'), 'and stays with that engine');
});
