import type { NatsConnection } from '@nats-io/transport-node';
import { EngineClient } from './engine-client.js';
import { EngineProcess } from './engine-process.js';
import { waitForOrdersStream } from './orders-stream.js';

// Engine chaos: bursts of orders over NATS while the engine is SIGKILLed at a random moment, then
// restarted on the same WAL. After every round it checks what must survive any crash: every
// acknowledged order is there with the same id (I3), no sale above its stock (I1), nobody above
// the cap (I2), no order that nobody asked for; at the end ORDERS holds every order exactly once
// (I4). Breaches are collected, not thrown, so a run reports all of them.

export const CHAOS_STOCK_UNITS = 100;
export const CHAOS_LIMIT_UNITS = 2;
/**
 * The burst's orders are given up soon: the engine is killed under them. Everything else (the
 * set-up and the audits, a thousand queries at once) has the client's default, so a slow
 * machine is not reported as a failed audit.
 */
const BURST_REQUEST_TIMEOUT_MS = 1_500;
const OUTBOX_DRAIN_WAIT_MS = 20_000;
/**
 * The kill moment is drawn from a window after the burst starts, at first this long (a whole
 * burst is decided and synced within a few milliseconds on a quiet machine). A round with nothing
 * acknowledged doubles it, one whose kill came after the last reply halves it: on a
 * loaded machine a fixed 40 ms fell before the first reply in all ten rounds of a run.
 */
const KILL_WINDOW_MS_FIRST = 40;
const KILL_WINDOW_MS_MIN = 10;

export interface EngineChaosOptions {
  readonly nc: NatsConnection;
  readonly natsUrl: string;
  readonly walDir: string;
  readonly rounds: number;
  readonly customersPerRound: number;
  readonly random?: () => number;
  readonly log?: (line: string) => void;
}

export interface EngineChaosReport {
  readonly rounds: number;
  readonly requests: number;
  readonly acknowledged: number;
  readonly orders: number;
  readonly breaches: string[];
}

interface Acked {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
}

const saleOfRound = (round: number): string => `chaos-r${round}`;

export async function runEngineChaos(options: EngineChaosOptions): Promise<EngineChaosReport> {
  const { nc, rounds, random = Math.random, log = () => undefined } = options;
  const client = new EngineClient(nc);
  const sales = Array.from({ length: rounds }, (_, r) => saleOfRound(r));
  const spawnEngine = () =>
    EngineProcess.start({
      natsUrl: options.natsUrl,
      walDir: options.walDir,
      sales,
      // Snapshots every few hundred records, written in many small steps while orders go on,
      // so crashes also land around and inside snapshots.
      env: { SNAPSHOT_EVERY_RECORDS: '150', SNAPSHOT_STEP_ORDERS: '7' },
    });
  const breaches: string[] = [];
  const acked: Acked[] = [];
  const customersBySale = new Map<string, Set<string>>();
  let requests = 0;
  let killWindowMs = KILL_WINDOW_MS_FIRST;
  let engine = await spawnEngine();
  try {
    for (let round = 0; round < rounds; round += 1) {
      const saleId = saleOfRound(round);
      const configured = await client.command(saleId, {
        type: 'ConfigureSale',
        name: saleId,
        stock: CHAOS_STOCK_UNITS,
        perCustomerLimit: CHAOS_LIMIT_UNITS,
      });
      if (!configured.ok)
        breaches.push(`round ${round}: could not configure: ${JSON.stringify(configured)}`);
      const burst = await burstAndKill(client, engine, saleId, {
        customerCount: options.customersPerRound,
        killAfterMs: random() * killWindowMs,
        random,
      });
      if (burst.acked.length === 0) killWindowMs *= 2;
      else if (burst.killAfterMs > burst.lastReplyMs)
        killWindowMs = Math.max(KILL_WINDOW_MS_MIN, killWindowMs / 2);
      requests += burst.requests;
      acked.push(...burst.acked);
      customersBySale.set(saleId, burst.customers);
      engine = await spawnEngine();
      breaches.push(
        ...(await audit(client, acked, customersBySale)).map((b) => `round ${round}: ${b}`),
      );
      log(
        `round ${round + 1}/${rounds}: ${burst.acked.length} acknowledged, ` +
          `SIGKILL at ${burst.killAfterMs.toFixed(1)} ms of a ${burst.burstMs.toFixed(1)} ms burst`,
      );
    }
    const orders = await allOrders(client, customersBySale);
    breaches.push(...(await auditOrdersStream(nc, orders)));
    return { rounds, requests, acknowledged: acked.length, orders: orders.size, breaches };
  } finally {
    await engine.kill('SIGTERM');
  }
}

async function burstAndKill(
  client: EngineClient,
  engine: EngineProcess,
  saleId: string,
  plan: { customerCount: number; killAfterMs: number; random: () => number },
) {
  const { customerCount, killAfterMs, random } = plan;
  const customers = new Set<string>();
  const bodies: { customerId: string; quantity: number }[] = [];
  for (let c = 0; c < customerCount; c += 1) {
    const customerId = `${saleId}-c${c}`;
    customers.add(customerId);
    const sends = 1 + Math.floor(random() * 3);
    for (let i = 0; i < sends; i += 1)
      bodies.push({ customerId, quantity: 1 + Math.floor(random() * 2) });
  }
  const acked: Acked[] = [];
  /** When the engine's last answer came, from the start (0: none came). */
  let lastReplyMs = 0;
  let killed: Promise<unknown> | null = null;
  const killOnce = () => {
    killed ??= engine.kill('SIGKILL');
  };
  const timer = setTimeout(killOnce, killAfterMs);
  const started = performance.now();
  await Promise.allSettled(
    bodies.map(async ({ customerId, quantity }) => {
      const reply = await client.command(
        saleId,
        { type: 'PlaceOrder', customerId, quantity },
        BURST_REQUEST_TIMEOUT_MS,
      );
      lastReplyMs = performance.now() - started;
      if (reply.ok && reply.kind === 'order') {
        acked.push({ orderId: reply.order.orderId, saleId, customerId, quantity });
      }
    }),
  );
  const burstMs = performance.now() - started;
  clearTimeout(timer);
  killOnce();
  await killed;
  return { requests: bodies.length, acked, customers, killAfterMs, burstMs, lastReplyMs };
}

async function audit(
  client: EngineClient,
  acked: readonly Acked[],
  customersBySale: Map<string, Set<string>>,
) {
  const breaches: string[] = [];
  await Promise.all(
    acked.map(async (a) => {
      const reply = await client.query(a.saleId, { type: 'GetOrder', orderId: a.orderId });
      if (!reply.ok || reply.kind !== 'order')
        breaches.push(`acknowledged order ${a.orderId} is lost`);
      else if (reply.order.customerId !== a.customerId || reply.order.quantity !== a.quantity)
        breaches.push(`order ${a.orderId} changed: ${JSON.stringify(reply.order)}`);
    }),
  );
  for (const [saleId, customers] of customersBySale)
    breaches.push(...(await auditSale(client, saleId, customers)));
  return breaches;
}

async function auditSale(
  client: EngineClient,
  saleId: string,
  customers: Set<string>,
): Promise<string[]> {
  const breaches: string[] = [];
  const sale = await client.query(saleId, { type: 'GetSale' });
  if (!sale.ok || sale.kind !== 'sale')
    return [`sale ${saleId} unreadable: ${JSON.stringify(sale)}`];
  const sold = sale.sale.stock - sale.sale.remaining;
  if (sold > sale.sale.stock || sale.sale.remaining < 0)
    breaches.push(`I1: ${saleId} sold ${sold}`);
  const replies = await Promise.all(
    [...customers].map(async (customerId) => ({
      customerId,
      reply: await client.query(saleId, { type: 'GetCustomer', customerId }),
    })),
  );
  let unitsOfKnownCustomers = 0;
  for (const { customerId, reply } of replies) {
    if (!reply.ok || reply.kind !== 'customer') {
      breaches.push(`customer ${customerId} unreadable`);
      continue;
    }
    unitsOfKnownCustomers += reply.customer.purchased;
    if (reply.customer.purchased > CHAOS_LIMIT_UNITS)
      breaches.push(`I2: ${customerId} holds ${reply.customer.purchased} units of ${saleId}`);
  }
  // Every sold unit belongs to a customer who asked: the engine invented nothing.
  if (unitsOfKnownCustomers !== sold)
    breaches.push(`${saleId}: ${sold} sold but customers hold ${unitsOfKnownCustomers}`);
  return breaches;
}

async function allOrders(
  client: EngineClient,
  customersBySale: Map<string, Set<string>>,
): Promise<Set<string>> {
  const orders = new Set<string>();
  for (const [saleId, customers] of customersBySale) {
    for (const customerId of customers) {
      const reply = await client.query(saleId, { type: 'GetCustomer', customerId });
      if (reply.ok && reply.kind === 'customer')
        for (const order of reply.customer.orders) orders.add(order.orderId);
    }
  }
  return orders;
}

/** I4: once the outbox has drained, ORDERS holds every order exactly once. */
async function auditOrdersStream(nc: NatsConnection, orders: Set<string>): Promise<string[]> {
  const seen = new Map<string, number>();
  for (const { orderId } of await waitForOrdersStream(nc, orders.size, OUTBOX_DRAIN_WAIT_MS))
    seen.set(orderId, (seen.get(orderId) ?? 0) + 1);
  const breaches: string[] = [];
  for (const orderId of orders)
    if (seen.get(orderId) !== 1)
      breaches.push(`I4: ${orderId} is in ORDERS ${seen.get(orderId) ?? 0} times`);
  for (const orderId of seen.keys())
    if (!orders.has(orderId)) breaches.push(`ORDERS holds unknown order ${orderId}`);
  return breaches;
}
