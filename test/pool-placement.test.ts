import t from 'tap';
import { expectError, refusedUpgrade } from './helpers/http-checks.js';
import { startEngine } from './helpers/nats.js';
import { http, startStack } from './helpers/stack.js';

// Sales are placed, not configured (DESIGN.md): a sale created through the API is placed on an
// engine of the pool and served at once, with nothing to restart; a sale that was never created
// is SALE_NOT_FOUND on every route of every gateway; ENGINE_UNAVAILABLE only for one that exists
// while no engine answers. Real nats-server, engine and gateway processes.

const SETTINGS = { name: 'Launch', stock: 5, perCustomerLimit: 2 };

t.test('the sale catalogue and placement', async (t) => {
  // One engine, pinned to 'pinned' (never configured), in the pool.
  const stack = await startStack(t, { sales: ['pinned'], gateways: 2 });
  const [one, two] = stack.gateways.map((gateway) => gateway.url) as [string, string];
  const put = (base: string, saleId: string) =>
    http(`${base}/v1/admin/sales/${saleId}`, {
      method: 'PUT',
      token: stack.adminToken,
      body: SETTINGS,
    });
  const order = (base: string, saleId: string, customer: string) =>
    http(`${base}/v1/sales/${saleId}/orders`, {
      method: 'POST',
      token: stack.token(customer),
      body: { quantity: 1 },
    });

  await t.test('a new sale is placed, served, and takes orders through any gateway', async (t) => {
    const created = await put(one, 'launch');
    t.match(created, { status: 201, body: { saleId: 'launch', remaining: 5, status: 'OPEN' } });
    t.equal((await order(two, 'launch', 'alice')).status, 201, 'the other gateway takes orders');
    t.match(await http(`${two}/v1/sales/launch`), { status: 200, body: { remaining: 4 } });
    t.match(await put(two, 'launch'), { status: 200 }, 'a second PUT changes the same sale');
  });

  await t.test('two racing PUTs of a new sale place it once', async (t) => {
    const answers = await Promise.all([put(one, 'race'), put(two, 'race')]);
    t.same(answers.map((a) => a.status).sort(), [200, 201], 'one created it, one changed it');
    t.equal((await order(one, 'race', 'bob')).status, 201);
  });

  await t.test('GET /v1/sales lists the sales, not a pinned slot never configured', async (t) => {
    const listing = await http(`${two}/v1/sales`);
    t.equal(listing.status, 200);
    t.same(listing.body.sales, [
      { saleId: 'launch', name: 'Launch', status: 'OPEN' },
      { saleId: 'race', name: 'Launch', status: 'OPEN' },
    ]);
  });

  await t.test(
    'a sale never created: SALE_NOT_FOUND on every route, from every gateway',
    async (t) => {
      for (const base of [one, two]) {
        const token = stack.token('carol');
        const routes: [string, Promise<Awaited<ReturnType<typeof http>>>][] = [
          ['GET sale', http(`${base}/v1/sales/never`)],
          ['GET me', http(`${base}/v1/sales/never/me`, { token })],
          ['POST order', order(base, 'never', 'carol')],
          ['GET order', http(`${base}/v1/orders/never~1`, { token })],
        ];
        for (const [what, answer] of routes)
          expectError(t, await answer, 404, 'SALE_NOT_FOUND', {}, `${base} ${what}`);
        const live = await refusedUpgrade(`${base.replace('http', 'ws')}/v1/sales/never/live`);
        t.match(live, { status: 404, body: { error: 'SALE_NOT_FOUND' } }, `${base} live`);
      }
    },
  );

  await t.test(
    'the engine gone: an existing sale is ENGINE_UNAVAILABLE, a new one still 404',
    async (t) => {
      await stack.engine.kill('SIGKILL');
      expectError(t, await http(`${one}/v1/sales/launch`), 503, 'ENGINE_UNAVAILABLE');
      expectError(t, await order(two, 'launch', 'dave'), 503, 'ENGINE_UNAVAILABLE');
      expectError(t, await http(`${one}/v1/sales/never`), 404, 'SALE_NOT_FOUND');
      expectError(t, await put(one, 'later'), 503, 'ENGINE_UNAVAILABLE', {}, 'no pool to place it');
    },
  );

  await t.test('restarted on its WAL, the engine takes its placed sales up again', async (t) => {
    // Ready once it serves its pinned sales and those placed on its WAL before.
    await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: ['pinned'] });
    t.match(await http(`${one}/v1/sales/launch`), { status: 200, body: { remaining: 4 } });
    t.equal((await order(two, 'launch', 'erin')).status, 201);
  });
});
