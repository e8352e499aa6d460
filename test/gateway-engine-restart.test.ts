import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { EngineClient } from '../scripts/client/engine-client.js';
import { startEngine } from './helpers/nats.js';
import { createSale, http, startStack } from './helpers/stack.js';

// The engine dies (SIGKILL) under HTTP traffic: the gateways answer 503 ENGINE_UNAVAILABLE with
// Retry-After meanwhile, carry on by themselves when an engine is back, and no acknowledged
// order is lost. Clients retry with the same Idempotency-Key, as a real client would.

const WORKERS = 16;
const ORDERS_BEFORE_KILL = 60;
const ORDERS_AFTER_RESTART = 60;
/** A client's pause after a 503 (what Retry-After asks for, shortened for the test). */
const CLIENT_BACKOFF_MS = 20;

interface Acknowledged {
  readonly orderId: string;
  readonly customerId: string;
  readonly quantity: number;
}

t.test('gateways ride out an engine crash without losing an acknowledged order', async (t) => {
  const stack = await startStack(t, {
    sales: ['crash'],
    gateways: 2,
    gatewayEnv: { RATE_LIMIT_MAX: '100000' },
  });
  await createSale(stack, 'crash', { stock: 1_000_000, perCustomerLimit: 1_000 });

  const acknowledged: Acknowledged[] = [];
  const unavailable: { code: string; retryAfter: string | null }[] = [];
  let phase: 'before' | 'down' | 'after' = 'before';
  let ackedAfterRestart = 0;
  let stop = false;
  let reachedKillPoint: () => void = () => undefined;
  const killPoint = new Promise<void>((resolve) => {
    reachedKillPoint = resolve;
  });
  let reachedEnd: () => void = () => undefined;
  const end = new Promise<void>((resolve) => {
    reachedEnd = resolve;
  });

  async function worker(w: number): Promise<void> {
    const customerId = `w${w}`;
    const token = stack.token(customerId);
    for (let n = 0; !stop; n += 1) {
      const key = `${customerId}-${n}`;
      for (;;) {
        // Each attempt alternates gateways: either one must do.
        const gateway = stack.gateways[(w + n) % 2]!;
        const reply = await http(`${gateway.url}/v1/sales/crash/orders`, {
          method: 'POST',
          token,
          body: { quantity: 1 },
          headers: { 'idempotency-key': key },
        });
        if (reply.status === 201 || reply.status === 200) {
          acknowledged.push({ orderId: reply.body.orderId, customerId, quantity: 1 });
          if (phase === 'before' && acknowledged.length >= ORDERS_BEFORE_KILL) reachedKillPoint();
          if (phase === 'after' && ++ackedAfterRestart >= ORDERS_AFTER_RESTART) reachedEnd();
          break;
        }
        if (reply.status !== 503) throw new Error(`unexpected ${reply.status}: ${reply.body}`);
        unavailable.push({ code: reply.body.error, retryAfter: reply.headers.get('retry-after') });
        if (stop) return;
        await delay(CLIENT_BACKOFF_MS);
      }
    }
  }

  const workers = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  await killPoint;
  phase = 'down';
  await stack.engine.kill('SIGKILL');
  const unavailableBefore = unavailable.length;
  // While no engine runs, the gateways keep answering — 503s, fast.
  const probe = await http(`${stack.gateways[0]!.url}/v1/sales/crash/orders`, {
    method: 'POST',
    token: stack.token('probe'),
    body: { quantity: 1 },
  });
  t.equal(probe.status, 503, 'no engine: 503');
  t.equal(probe.body.error, 'ENGINE_UNAVAILABLE');
  t.ok(probe.headers.get('retry-after'), 'with Retry-After');

  await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: ['crash'] });
  phase = 'after';
  await end;
  stop = true;
  await workers;

  t.ok(unavailable.length > unavailableBefore, 'clients saw 503s while the engine was down');
  t.ok(
    unavailable.every((u) => u.code === 'ENGINE_UNAVAILABLE' && u.retryAfter !== null),
    'every 503 was ENGINE_UNAVAILABLE with Retry-After',
  );
  for (const gateway of stack.gateways) {
    const health = await http(`${gateway.url}/health/ready`);
    t.equal(health.status, 200, 'the gateway is still up and ready');
  }

  // Every acknowledged order exists, with the same id, after the crash and restart.
  const client = new EngineClient(stack.nc);
  const byCustomer = new Map<string, Set<string>>();
  for (let w = 0; w < WORKERS; w += 1) {
    const customer = await client.customer('crash', `w${w}`);
    byCustomer.set(`w${w}`, new Set(customer.orders.map((o) => o.orderId)));
  }
  const missing = acknowledged.filter((a) => !byCustomer.get(a.customerId)?.has(a.orderId));
  t.same(missing, [], `all ${acknowledged.length} acknowledged orders survived`);
  t.equal(
    new Set(acknowledged.map((a) => a.orderId)).size,
    acknowledged.length,
    'no order id was handed out twice',
  );
});
