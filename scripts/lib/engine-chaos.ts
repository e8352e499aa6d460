import type { NatsConnection } from '@nats-io/transport-node';
import type { OrderView } from '../../engine/protocol/index.js';
import { EngineClient } from './engine-client.js';
import { EngineProcess, type EngineProcessOptions } from './engine-process.js';
import { waitForOrdersStream } from './orders-stream.js';
import { whenAborted } from './when-aborted.js';

// Engine chaos: bursts of orders over NATS while the engine is SIGKILLed at a random moment, then
// restarted on the same WAL. Right after each restart it reads back what the engine holds for the
// sale and checks it against the orders themselves, not only the counters against each other:
// each customer's orders add up to its `purchased` and stay within the cap (I2), the sale's orders
// add up to stock − remaining and stay within the stock (I1), every acknowledged order is there
// with the same id (I3). Then a second burst goes to the recovered sale: a recovery that
// under-counted would sell past the stock or a cap, which the audit after it sees. At the end
// ORDERS holds every order exactly once (I4). Breaches are collected, not thrown, so a run
// reports all of them.

export const CHAOS_STOCK_UNITS = 100;
export const CHAOS_LIMIT_UNITS = 2;
/**
 * The burst's orders are given up soon: the engine is killed under them. Everything else (the
 * set-up, the burst after recovery and the audits, a thousand queries at once) has the client's
 * default, so a slow machine is not reported as a failed audit.
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
/**
 * Customers new to the sale in the burst after recovery, each ordering single units up to the
 * cap: together they ask for the whole stock, so a correct engine ends that burst sold out
 * (single units: no INSUFFICIENT_STOCK leaves a unit unsold) and an under-counting one oversells.
 */
const FRESH_CUSTOMERS_AFTER_RECOVERY = Math.ceil(CHAOS_STOCK_UNITS / CHAOS_LIMIT_UNITS);

export interface EngineChaosOptions {
  readonly nc: NatsConnection;
  readonly natsUrl: string;
  readonly walDir: string;
  readonly rounds: number;
  readonly customersPerRound: number;
  readonly random?: () => number;
  readonly log?: (line: string) => void;
  /** Aborting kills the engine and rejects the run (Ctrl-C of `npm run chaos:engine`). */
  readonly signal?: AbortSignal;
}

export interface EngineChaosReport {
  readonly rounds: number;
  readonly requests: number;
  /** Orders acknowledged in all, in the killed bursts and after recovery. */
  readonly acknowledged: number;
  /** Of those, acknowledged by an engine that was then SIGKILLed. */
  readonly acknowledgedBeforeKill: number;
  /** Of those, acknowledged by a restarted engine, to a sale it had recovered. */
  readonly acknowledgedAfterRecovery: number;
  readonly orders: number;
  readonly breaches: string[];
}

export interface Acked {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
}

/** One round's sale: who asked for units, and what was acknowledged to them. */
interface SaleRecord {
  readonly customers: Set<string>;
  readonly acked: Acked[];
}

type OrderBody = { readonly customerId: string; readonly quantity: number };

const saleOfRound = (round: number): string => `chaos-r${round}`;

/** The engines of a run, each on the same WAL after the last; all killed when the run ends. */
class EngineSeries {
  private readonly running = new Set<EngineProcess>();

  constructor(
    private readonly options: EngineProcessOptions,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** A new engine, once it serves. Refuses after an abort, so none outlives the run. */
  async start(): Promise<EngineProcess> {
    this.signal?.throwIfAborted();
    const engine = EngineProcess.spawn(this.options);
    this.running.add(engine);
    void engine.exited.then(() => this.running.delete(engine));
    await engine.serving();
    return engine;
  }

  async stopAll(signal: NodeJS.Signals): Promise<void> {
    await Promise.all([...this.running].map((engine) => engine.kill(signal)));
  }
}

export async function runEngineChaos(options: EngineChaosOptions): Promise<EngineChaosReport> {
  const sales = Array.from({ length: options.rounds }, (_, r) => saleOfRound(r));
  const engines = new EngineSeries(
    {
      natsUrl: options.natsUrl,
      walDir: options.walDir,
      sales,
      // Snapshots every few hundred records, written in many small steps while orders go on,
      // so crashes also land around and inside snapshots.
      env: { SNAPSHOT_EVERY_RECORDS: '150', SNAPSHOT_STEP_ORDERS: '7' },
    },
    options.signal,
  );
  const stop = whenAborted(options.signal, 'engine chaos aborted');
  try {
    // After an abort the rounds may go on a little, but they meet stopped engines and the
    // series refuses to start another one.
    return await Promise.race([runRounds(options, engines), stop.aborted]);
  } finally {
    stop.dispose();
    await engines.stopAll(options.signal?.aborted ? 'SIGKILL' : 'SIGTERM');
  }
}

async function runRounds(
  options: EngineChaosOptions,
  engines: EngineSeries,
): Promise<EngineChaosReport> {
  const { nc, rounds, random = Math.random, log = () => undefined } = options;
  const client = new EngineClient(nc);
  const breaches: string[] = [];
  const records = new Map<string, SaleRecord>();
  let requests = 0;
  let acknowledgedBeforeKill = 0;
  let acknowledgedAfterRecovery = 0;
  let killWindowMs = KILL_WINDOW_MS_FIRST;
  let engine = await engines.start();
  for (let round = 0; round < rounds; round += 1) {
    const saleId = saleOfRound(round);
    const found = (list: readonly string[]) => list.map((b) => `round ${round}: ${b}`);
    const configured = await client.configureSale(saleId, {
      stock: CHAOS_STOCK_UNITS,
      perCustomerLimit: CHAOS_LIMIT_UNITS,
    });
    if (!configured.ok)
      breaches.push(...found([`could not configure: ${JSON.stringify(configured)}`]));
    const burst = await burstAndKill(client, engine, saleId, {
      customerCount: options.customersPerRound,
      killAfterMs: random() * killWindowMs,
      random,
    });
    if (burst.acked.length === 0) killWindowMs *= 2;
    else if (burst.killAfterMs > burst.lastReplyMs)
      killWindowMs = Math.max(KILL_WINDOW_MS_MIN, killWindowMs / 2);
    const record: SaleRecord = { customers: burst.customers, acked: [...burst.acked] };
    records.set(saleId, record);
    engine = await engines.start();
    // What the restarted engine recovered, before anything new changes it.
    breaches.push(...found(await auditSale(client, saleId, record, { soldOut: false })));
    const after = await buyAfterRecovery(client, saleId, burst.customers);
    breaches.push(...found(after.unanswered));
    for (const customerId of after.customers) record.customers.add(customerId);
    record.acked.push(...after.acked);
    // Every sale so far: a later crash must not have damaged an earlier sale's recovery.
    breaches.push(...found(await auditAll(client, records)));
    requests += burst.requests + after.requests;
    acknowledgedBeforeKill += burst.acked.length;
    acknowledgedAfterRecovery += after.acked.length;
    log(
      `round ${round + 1}/${rounds}: ${burst.acked.length} acknowledged, SIGKILL at ` +
        `${burst.killAfterMs.toFixed(1)} ms of a ${burst.burstMs.toFixed(1)} ms burst; ` +
        `${after.acked.length} acknowledged after recovery`,
    );
  }
  const orders = await allOrders(client, records);
  breaches.push(...(await auditOrdersStream(nc, orders)));
  return {
    rounds,
    requests,
    acknowledged: acknowledgedBeforeKill + acknowledgedAfterRecovery,
    acknowledgedBeforeKill,
    acknowledgedAfterRecovery,
    orders: orders.size,
    breaches,
  };
}

async function burstAndKill(
  client: EngineClient,
  engine: EngineProcess,
  saleId: string,
  plan: { customerCount: number; killAfterMs: number; random: () => number },
) {
  const { customerCount, killAfterMs, random } = plan;
  const customers = new Set<string>();
  const bodies: OrderBody[] = [];
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

/**
 * The burst after recovery, all at once: every customer of the killed burst asks for one unit more
 * (refused at the cap unless the recovery forgot what they bought), and fresh customers ask for
 * the whole stock in single units. A request left unanswered by a serving engine is a breach.
 */
async function buyAfterRecovery(
  client: EngineClient,
  saleId: string,
  customersBefore: ReadonlySet<string>,
) {
  const fresh = Array.from(
    { length: FRESH_CUSTOMERS_AFTER_RECOVERY },
    (_, f) => `${saleId}-after${f}`,
  );
  const bodies: OrderBody[] = [
    ...[...customersBefore].map((customerId) => ({ customerId, quantity: 1 })),
    ...fresh.flatMap((customerId) =>
      Array.from({ length: CHAOS_LIMIT_UNITS }, () => ({ customerId, quantity: 1 })),
    ),
  ];
  const acked: Acked[] = [];
  const unanswered: string[] = [];
  await Promise.all(
    bodies.map(async ({ customerId, quantity }) => {
      try {
        const reply = await client.placeOrder(saleId, customerId, quantity);
        if (reply.ok && reply.kind === 'order')
          acked.push({ orderId: reply.order.orderId, saleId, customerId, quantity });
      } catch (error) {
        unanswered.push(
          `after recovery, ${customerId}'s order got no answer: ${(error as Error).message}`,
        );
      }
    }),
  );
  return { requests: bodies.length, acked, customers: fresh, unanswered };
}

/** Every acknowledged order of every sale reads back as acknowledged, and each sale adds up. */
async function auditAll(client: EngineClient, records: ReadonlyMap<string, SaleRecord>) {
  const breaches: string[] = [];
  for (const [saleId, record] of records) {
    breaches.push(...(await auditAcked(client, record.acked)));
    // Every recorded sale has had its burst after recovery, which sells a correct engine out.
    breaches.push(...(await auditSale(client, saleId, record, { soldOut: true })));
  }
  return breaches;
}

async function auditAcked(client: EngineClient, acked: readonly Acked[]): Promise<string[]> {
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
  return breaches;
}

/** A customer's orders against its `purchased` counter and the cap (I2). */
function auditCustomer(
  saleId: string,
  customerId: string,
  purchased: number,
  orders: readonly OrderView[],
): string[] {
  const breaches: string[] = [];
  const units = orders.reduce((sum, order) => sum + order.quantity, 0);
  if (units !== purchased)
    breaches.push(`${customerId}: purchased says ${purchased} but its orders hold ${units} units`);
  if (Math.max(units, purchased) > CHAOS_LIMIT_UNITS)
    breaches.push(`I2: ${customerId} holds ${units} units of ${saleId} (cap ${CHAOS_LIMIT_UNITS})`);
  for (const order of orders)
    if (order.customerId !== customerId || order.saleId !== saleId)
      breaches.push(`${customerId}'s orders list ${order.orderId} of ${order.customerId}`);
  return breaches;
}

/**
 * The sale as the engine holds it, checked against the orders themselves: each customer's orders
 * add up to its `purchased` within the cap, all of them add up to stock − remaining within the
 * configured stock (I1), and every order acknowledged for the sale is among them. With `soldOut`,
 * the remaining must also be 0: the burst after recovery asked for more than the whole stock.
 */
export async function auditSale(
  client: EngineClient,
  saleId: string,
  record: { readonly customers: ReadonlySet<string>; readonly acked: readonly Acked[] },
  expect: { readonly soldOut: boolean },
): Promise<string[]> {
  const breaches: string[] = [];
  const sale = await client.query(saleId, { type: 'GetSale' });
  if (!sale.ok || sale.kind !== 'sale')
    return [`sale ${saleId} unreadable: ${JSON.stringify(sale)}`];
  const { stock, remaining } = sale.sale;
  const replies = await Promise.all(
    [...record.customers].map(async (customerId) => ({
      customerId,
      reply: await client.query(saleId, { type: 'GetCustomer', customerId }),
    })),
  );
  let heldUnits = 0;
  const heldOrders = new Set<string>();
  for (const { customerId, reply } of replies) {
    if (!reply.ok || reply.kind !== 'customer') {
      breaches.push(`customer ${customerId} unreadable`);
      continue;
    }
    const { purchased, orders } = reply.customer;
    breaches.push(...auditCustomer(saleId, customerId, purchased, orders));
    heldUnits += orders.reduce((sum, order) => sum + order.quantity, 0);
    for (const order of orders) heldOrders.add(order.orderId);
  }
  if (stock !== CHAOS_STOCK_UNITS)
    breaches.push(`${saleId}: the stock became ${stock} (configured ${CHAOS_STOCK_UNITS})`);
  if (heldUnits > CHAOS_STOCK_UNITS || remaining < 0)
    breaches.push(
      `I1: ${saleId} holds orders for ${heldUnits} units of a stock of ${CHAOS_STOCK_UNITS}` +
        ` (remaining ${remaining})`,
    );
  // Every sold unit is in an order of a customer who asked: the engine invented nothing, and its
  // counters did not drift from its orders.
  if (stock - remaining !== heldUnits)
    breaches.push(
      `${saleId}: stock − remaining = ${stock - remaining} but its orders hold ${heldUnits} units`,
    );
  if (expect.soldOut && remaining !== 0)
    breaches.push(`${saleId}: ${remaining} units unsold although customers asked for them all`);
  for (const a of record.acked)
    if (!heldOrders.has(a.orderId))
      breaches.push(`acknowledged ${a.orderId} is not among ${a.customerId}'s orders`);
  return breaches;
}

async function allOrders(
  client: EngineClient,
  records: ReadonlyMap<string, SaleRecord>,
): Promise<Set<string>> {
  const orders = new Set<string>();
  for (const [saleId, { customers }] of records) {
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
