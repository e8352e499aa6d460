import pg from 'pg';
import t from 'tap';
import { ConventionalProcess } from '../bench/conventional/conventional-process.js';
import {
  benchRedisUrl,
  deleteKeysWithPrefix,
  redisUnreachable,
} from '../bench/conventional/redis-connection.js';
import {
  createScratchDatabase,
  postgresUnreachable,
} from '../bench/conventional/scratch-database.js';
import { planBurst } from '../scripts/burst/plan.js';
import { mintToken } from '../scripts/client/tokens.js';
import type { Teardown } from './helpers/nats.js';
import { http } from './helpers/stack.js';

// The comparison target of bench:compare must be correct, or the comparison means nothing: the
// conventional server (Redis counter + Redis lock per customer:sale + a PostgreSQL transaction)
// under an opening burst sells exactly the stock, keeps everyone within the cap, and holds in
// PostgreSQL every order it acknowledged and no other; and the cap still holds when Redis
// forgets its counters, because it is re-checked in PostgreSQL under the lock. Real Redis and
// PostgreSQL, no mocks.

const SECRET = 'test-compare-secret-0123456789abcdef';
const STOCK = 100;
const CAP = 2;
const CUSTOMERS = 300;
const REQUESTS = 1_000;
const SEED = 11;
const EXPECTED_REFUSALS = new Set([
  '409 SOLD_OUT',
  '409 INSUFFICIENT_STOCK',
  '409 LIMIT_EXCEEDED',
  // A customer pressing many times at once may find the lock held for the whole wait.
  '503 OVERLOADED',
]);

const unreachable = (await postgresUnreachable()) ?? (await redisUnreachable());
const skip = unreachable === null ? false : `needs Redis and PostgreSQL: ${unreachable}`;

interface Conventional {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly redisKeyPrefix: string;
  token(customer: string): string;
  createSale(saleId: string, stock: number, perCustomerLimit: number): Promise<void>;
  order(saleId: string, customer: string, quantity: number, key: string): ReturnType<typeof http>;
}

/** The server over a scratch database and key prefix, all removed at the end of the test. */
async function startConventional(t: Teardown): Promise<Conventional> {
  const database = await createScratchDatabase();
  t.teardown(() => database.drop());
  const redisUrl = benchRedisUrl();
  t.teardown(() => deleteKeysWithPrefix(redisUrl, database.name));
  const server = await ConventionalProcess.start({
    jwtSecret: SECRET,
    databaseUrl: database.url,
    redisUrl,
    redisKeyPrefix: database.name,
  });
  t.teardown(() => server.kill('SIGTERM'));
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  t.teardown(() => pool.end());
  const tokens = new Map<string, string>();
  const token = (customer: string): string => {
    if (!tokens.has(customer)) tokens.set(customer, mintToken(SECRET, { sub: customer }));
    return tokens.get(customer)!;
  };
  const admin = mintToken(SECRET, { sub: 'ops', role: 'admin' });
  return {
    url: server.url,
    pool,
    redisKeyPrefix: database.name,
    token,
    createSale: async (saleId, stock, perCustomerLimit) => {
      const reply = await http(`${server.url}/v1/admin/sales/${saleId}`, {
        method: 'PUT',
        token: admin,
        body: { name: saleId, stock, perCustomerLimit },
      });
      if (reply.status !== 201) throw new Error(`creating ${saleId}: ${reply.status}`);
    },
    order: (saleId, customer, quantity, key) =>
      http(`${server.url}/v1/sales/${saleId}/orders`, {
        method: 'POST',
        token: token(customer),
        body: { quantity },
        headers: { 'idempotency-key': key },
      }),
  };
}

t.test(
  'a burst on the conventional server sells exactly the stock, within the cap, all in PostgreSQL',
  { skip },
  async (t) => {
    const server = await startConventional(t);
    await server.createSale('opening', STOCK, CAP);
    const plan = planBurst(CUSTOMERS, REQUESTS, SEED).map((press, i) => ({
      customer: `c${press.customer}`,
      quantity: press.quantity,
      key: `burst-${i}`,
    }));
    const replies = await Promise.all(
      plan.map(({ customer, quantity, key }) => server.order('opening', customer, quantity, key)),
    );

    const accepted = new Map<string, (typeof plan)[number]>();
    const unitsByCustomer = new Map<string, number>();
    const refusals = new Map<string, number>();
    const strangers: string[] = [];
    replies.forEach((reply, i) => {
      const press = plan[i]!;
      if (reply.status === 201) {
        if (reply.body.customerId !== press.customer) strangers.push(reply.body.orderId);
        accepted.set(reply.body.orderId, press);
        unitsByCustomer.set(
          press.customer,
          (unitsByCustomer.get(press.customer) ?? 0) + press.quantity,
        );
      } else {
        const what = `${reply.status} ${reply.body?.error}`;
        refusals.set(what, (refusals.get(what) ?? 0) + 1);
      }
    });
    t.strictSame(strangers, [], "every order is the caller's");
    const sold = [...unitsByCustomer.values()].reduce((a, b) => a + b, 0);
    t.equal(sold, STOCK, 'the acknowledged orders add up to exactly the stock');
    t.ok(
      [...unitsByCustomer.values()].every((units) => units <= CAP),
      'no customer was acknowledged more than the cap',
    );
    t.strictSame(
      [...refusals.keys()].filter((what) => !EXPECTED_REFUSALS.has(what)),
      [],
      `only expected refusals (${JSON.stringify(Object.fromEntries(refusals))})`,
    );

    const { pool } = server;
    const sale = await pool.query('SELECT stock, remaining FROM sales WHERE id = $1', ['opening']);
    t.strictSame(sale.rows[0], { stock: STOCK, remaining: 0 }, 'PostgreSQL: nothing remaining');
    const rows = await pool.query<{ id: string; customer_id: string; quantity: number }>(
      "SELECT id, customer_id, quantity FROM orders WHERE sale_id = 'opening'",
    );
    t.equal(rows.rowCount, accepted.size, 'PostgreSQL holds as many orders as were acknowledged');
    const inDatabase = new Map(rows.rows.map((row) => [`opening~${row.id}`, row]));
    const missing = [...accepted].filter(([orderId, press]) => {
      const row = inDatabase.get(orderId);
      return row?.customer_id !== press.customer || row.quantity !== press.quantity;
    });
    t.strictSame(missing, [], 'every 201 is a row in PostgreSQL, same customer and quantity');
    const largest = await pool.query<{ units: number }>(
      `SELECT SUM(quantity)::int AS units FROM orders WHERE sale_id = 'opening'
       GROUP BY customer_id ORDER BY units DESC LIMIT 1`,
    );
    t.ok(largest.rows[0]!.units <= CAP, `PostgreSQL: at most ${CAP} units per customer`);

    // I5: retrying acknowledged requests with their keys returns the same orders, adds none.
    const retried = [...accepted].slice(0, 10);
    const replays = await Promise.all(
      retried.map(([, press]) =>
        server.order('opening', press.customer, press.quantity, press.key),
      ),
    );
    t.strictSame(
      replays.map((reply) => [reply.status, reply.body.orderId]),
      retried.map(([orderId]) => [200, orderId]),
      'retries with the same key get the original orders (200)',
    );
    const after = await pool.query(
      "SELECT count(*)::int AS n FROM orders WHERE sale_id = 'opening'",
    );
    t.equal(after.rows[0].n, accepted.size, 'and no new rows');
  },
);

t.test(
  'the cap holds when Redis forgets its counters: PostgreSQL decides under the lock',
  { skip },
  async (t) => {
    const server = await startConventional(t);
    const buyers = Array.from({ length: 50 }, (_, c) => `buyer${c}`);
    await server.createSale('plenty', 10_000, CAP);
    const first = await Promise.all(
      buyers.map((customer) => server.order('plenty', customer, CAP, `${customer}-first`)),
    );
    t.strictSame(
      first.map((reply) => reply.status),
      buyers.map(() => 201),
      'every buyer gets the cap',
    );

    // Redis keeps nothing on disk: a restart empties it. Here only the counters go.
    const { pool } = server;
    const deleted = await deleteKeysWithPrefix(benchRedisUrl(), server.redisKeyPrefix);
    t.ok(deleted >= buyers.length, `the counters are gone (${deleted} keys)`);

    const presses = buyers.flatMap((customer) => [1, 2, 3].map((n) => ({ customer, n })));
    const again = await Promise.all(
      presses.map(({ customer, n }) => server.order('plenty', customer, 1, `${customer}-${n}`)),
    );
    t.strictSame(
      [...new Set(again.map((reply) => `${reply.status} ${reply.body.error}`))],
      ['409 LIMIT_EXCEEDED'],
      'every further order is refused LIMIT_EXCEEDED',
    );
    const units = await pool.query(
      "SELECT SUM(quantity)::int AS n FROM orders WHERE sale_id = 'plenty'",
    );
    t.equal(units.rows[0].n, buyers.length * CAP, 'PostgreSQL holds only the first orders');
  },
);
