import { Kvm } from '@nats-io/kv';
import t, { type Test } from 'tap';
import { LEASE_BUCKET, SALE_HOMES_BUCKET } from '../engine/protocol/subjects.js';
import { walIdentity } from '../engine/shell/wal-identity.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { natsClient, spawnEngine, startEngine, startNats, tempDir } from './helpers/nats.js';

// I6: one engine per sale. A second engine for an owned sale refuses (and says so), stands by,
// and takes over once the owner is gone and its lease has expired — on the sale's WAL only
// (sale-homes.ts), unless told to adopt the sale.

const LEASE_TTL_MS = 2_000;

/** A private NATS and an engine named owner, on its own WAL, serving `saleId`: 10 units, alice's 1 sold. */
async function ownedSale(t: Test, saleId: string) {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const client = new EngineClient(nc);
  const options = { natsUrl: nats.url, sales: [saleId], leaseTtlMs: LEASE_TTL_MS };
  const walA = await tempDir(t, 'wal-a');
  const owner = await startEngine(t, { ...options, walDir: walA, env: { ENGINE_ID: 'owner' } });
  await client.configureSale(saleId, { stock: 10, perCustomerLimit: 2 });
  t.ok((await client.placeOrder(saleId, 'alice')).ok, 'the owner sells');
  return { nc, client, options, walA, owner };
}

t.test(
  'an engine on another WAL refuses a sale that lives elsewhere, before and after its owner dies',
  async (t) => {
    const { client, options, walA, owner } = await ownedSale(t, 'leased');

    const walB = await tempDir(t, 'wal-b');
    const elsewhere = () =>
      spawnEngine(t, { ...options, walDir: walB, env: { ENGINE_ID: 'other' } });
    // A standby given the wrong directory: found at deployment, not when it would take over.
    const standby = elsewhere();
    t.same(await standby.exited, { code: 78, signal: null }, 'it exits 78 (configuration)');
    const refusal = standby.logs.find((l) => l.level === 60)!;
    t.match(
      refusal.msg,
      new RegExp(
        `sale leased lives in WAL .* \\(${walA} of engine owner .*WAL_DIR ${walB}.*ENGINE_SALES_ADOPT=leased@`,
      ),
      'the refusal names both WALs and the way out',
    );

    // The owner dies: an engine on another WAL would start the sale empty.
    await owner.kill('SIGKILL');
    const successor = elsewhere();
    t.same(
      await successor.exited,
      { code: 78, signal: null },
      'still refused once the owner is gone',
    );
    t.equal(
      successor.logs.some((l) => l.msg === 'engine serving'),
      false,
      'and it never served',
    );
    await startEngine(t, { ...options, walDir: walA });
    t.equal((await client.sale('leased')).remaining, 9, 'the sale is back on its own WAL, intact');
  },
);

t.test(
  'a standby deployed before the sale had a home is refused when it takes the lease',
  async (t) => {
    const { nc, client, options, walA, owner } = await ownedSale(t, 'early');

    // Deployed together, the standby checked before the owner claimed the home: played here by
    // hiding the home while the standby starts.
    const kvm = new Kvm(nc);
    const homes = await kvm.open(SALE_HOMES_BUCKET);
    const home = (await homes.get('early'))!;
    await homes.purge('early');
    const standby = spawnEngine(t, {
      ...options,
      walDir: await tempDir(t, 'wal-b'),
      env: { ENGINE_ID: 'standby' },
    });
    await standby.waitForLog((line) => line.msg.includes('refusing to serve it'));
    await homes.put('early', home.value);

    await owner.kill('SIGKILL');
    t.same(await standby.exited, { code: 78, signal: null }, 'refused once it took the lease');
    t.notOk(
      standby.logs.some((l) => l.msg === 'engine serving'),
      'without serving the sale a moment',
    );
    const lease = await (await kvm.open(LEASE_BUCKET)).get('early');
    t.not(lease?.operation, 'PUT', 'and it freed the lease');
    await startEngine(t, { ...options, walDir: walA });
    t.equal((await client.sale('early')).remaining, 9, 'the sale is back on its own WAL, intact');
  },
);

t.test(
  'ENGINE_SALES_ADOPT: a standby on another WAL waits out the lease and takes the sale over',
  async (t) => {
    const { client, options, walA, owner } = await ownedSale(t, 'leased');

    // The one-shot form, as the refusal suggests it: adopt the sale from the owner's WAL only.
    const from = await walIdentity(walA);
    const standby = spawnEngine(t, {
      ...options,
      walDir: await tempDir(t, 'wal-b'),
      env: { ENGINE_ID: 'standby', ENGINE_SALES_ADOPT: `leased@${from}` },
    });
    const refusal = await standby.waitForLog((line) => line.msg.includes('refusing to serve it'));
    t.match(refusal.msg, /sale leased is served by engine owner/, 'the refusal names the owner');
    t.equal(
      standby.logs.some((l) => l.msg === 'engine serving'),
      false,
      'the standby does not serve',
    );
    t.equal((await client.sale('leased')).remaining, 9, 'the owner still answers alone');

    await owner.kill('SIGKILL');
    const killedAt = Date.now();
    await standby.serving();
    // Its pid is gone, but the lease names another WAL: the death can't be proven from here.
    t.ok(Date.now() - killedAt >= LEASE_TTL_MS * 0.5, 'the standby waited for the lease to expire');
    t.ok(
      standby.logs.some((l) => l.level === 40 && l.msg.startsWith('adopted sale leased')),
      'it warns that it adopted the sale',
    );
    await client.configureSale('leased', { stock: 4, perCustomerLimit: 2 });
    t.equal((await client.sale('leased')).remaining, 4, 'the sale now lives in its WAL');
    const placed = await client.placeOrder('leased', 'alice');
    t.match(
      placed,
      { ok: true, order: { orderId: 'leased~1000000000001' } },
      "numbered in a range of its own: the owner's leased~1 is not given again",
    );

    // The old owner, restarted on its WAL, no longer owns the sale's home.
    await standby.kill('SIGTERM');
    const former = spawnEngine(t, { ...options, walDir: walA });
    t.same(await former.exited, { code: 78, signal: null }, 'the former home refuses it now');
  },
);

t.test(
  'an owner cut off while its sale was adopted elsewhere stops instead of serving stale state',
  async (t) => {
    const { nc, client, options, owner } = await ownedSale(t, 'moved');

    // Stopped, the owner can't renew: its lease expires, an engine told to adopt the sale takes
    // it (and its home), then stops and frees the lease.
    process.kill(owner.pid!, 'SIGSTOP');
    t.teardown(() => {
      try {
        process.kill(owner.pid!, 'SIGCONT');
      } catch {}
    });
    const adopter = await startEngine(t, {
      ...options,
      walDir: await tempDir(t, 'wal-b'),
      env: { ENGINE_SALES_ADOPT: 'moved' },
    });
    await client.configureSale('moved', { stock: 3, perCustomerLimit: 2 });
    t.same(await adopter.kill('SIGTERM'), { code: 0, signal: null });

    // Back, the owner finds the lease free and takes it again, but the sale lives elsewhere now.
    process.kill(owner.pid!, 'SIGCONT');
    t.same(await owner.exited, { code: 1, signal: null }, 'the owner stops (exit 1)');
    t.ok(
      owner.logs.some((l) => l.msg.startsWith('took the expired sale lease again, but')),
      'saying why',
    );
    const lease = await (await new Kvm(nc).open(LEASE_BUCKET)).get('moved');
    t.not(lease?.operation, 'PUT', 'and it freed the lease it took');
  },
);

t.test(
  'a standby on the same WAL takes over as soon as the owner is dead, with its orders',
  async (t) => {
    const nats = await startNats(t);
    const nc = await natsClient(t, nats.url);
    const client = new EngineClient(nc);
    const options = {
      natsUrl: nats.url,
      sales: ['shared'],
      leaseTtlMs: 60_000,
      walDir: await tempDir(t, 'wal'),
    };
    const owner = await startEngine(t, options);
    await client.configureSale('shared', { stock: 10, perCustomerLimit: 2 });
    t.ok((await client.placeOrder('shared', 'alice', 2)).ok);
    const standby = spawnEngine(t, options);
    await standby.waitForLog((line) => line.msg.includes('refusing to serve it'));
    await owner.kill('SIGKILL');
    // The owner's pid is gone and it used this very WAL: no need to wait out the 60 s TTL.
    await standby.serving();
    t.equal((await client.sale('shared')).remaining, 8, "the standby recovered the owner's orders");
    t.equal((await client.customer('shared', 'alice')).purchased, 2);
  },
);

t.test('two engines partition sales between them', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const client = new EngineClient(nc);
  const base = { natsUrl: nats.url, leaseTtlMs: LEASE_TTL_MS };
  await startEngine(t, { ...base, sales: ['north'], walDir: await tempDir(t, 'wal-n') });
  await startEngine(t, { ...base, sales: ['south'], walDir: await tempDir(t, 'wal-s') });
  await client.configureSale('north', { stock: 5, perCustomerLimit: 5 });
  await client.configureSale('south', { stock: 7, perCustomerLimit: 5 });
  t.ok((await client.placeOrder('north', 'a', 2)).ok);
  t.ok((await client.placeOrder('south', 'a', 3)).ok);
  t.equal((await client.sale('north')).remaining, 3);
  t.equal((await client.sale('south')).remaining, 4);
});

t.test('a graceful stop releases the lease: a standby takes over at once', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const client = new EngineClient(nc);
  const walDir = await tempDir(t, 'wal');
  const options = { natsUrl: nats.url, sales: ['handover'], leaseTtlMs: 60_000, walDir };
  const first = await startEngine(t, options);
  await client.configureSale('handover', { stock: 3, perCustomerLimit: 3 });
  const placed = await client.placeOrder('handover', 'bob', 2);
  t.ok(placed.ok);
  t.same(await first.kill('SIGTERM'), { code: 0, signal: null }, 'SIGTERM exits 0');
  const second = await startEngine(t, options);
  t.ok(second, 'a successor serves without waiting for the 60 s TTL');
  t.equal((await client.sale('handover')).remaining, 1, 'and it recovered the orders');
});
