import { addUnits } from '../audit/reading.js';
import type { EngineClient } from '../client/engine-client.js';
import type { EngineProcess } from '../stack/engine-process.js';
import { type Acked, CHAOS_LIMIT_UNITS, CHAOS_STOCK_UNITS } from './engine-audit.js';

// Engine chaos's two bursts of a round, over NATS: the one the engine is SIGKILLed under, at a
// chosen moment, and the one its recovered sale gets after the restart. Each says what was
// acknowledged and which requests went unanswered (their units of unknown outcome).

/**
 * The burst's orders are given up soon: the engine is killed under them. Everything else (the
 * set-up, the burst after recovery and the audits, a thousand queries at once) has the client's
 * default, so a slow machine is not reported as a failed audit.
 */
const BURST_REQUEST_TIMEOUT_MS = 1_500;
/**
 * Customers new to the sale in the burst after recovery, each ordering single units up to the
 * cap: together they ask for the whole stock, so a correct engine ends that burst sold out
 * (single units: no INSUFFICIENT_STOCK leaves a unit unsold) and an under-counting one oversells.
 */
const FRESH_CUSTOMERS_AFTER_RECOVERY = Math.ceil(CHAOS_STOCK_UNITS / CHAOS_LIMIT_UNITS);

type OrderBody = { readonly customerId: string; readonly quantity: number };

export async function burstAndKill(
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
  /** Units of the requests that got no answer: the engine may have decided them. */
  const unknownUnits = new Map<string, number>();
  /** When the engine's last answer came, from the start (0: none came). */
  let lastReplyMs = 0;
  let killed: Promise<unknown> | null = null;
  const killOnce = () => {
    killed ??= engine.kill('SIGKILL');
  };
  const timer = setTimeout(killOnce, killAfterMs);
  const started = performance.now();
  await Promise.all(
    bodies.map(async ({ customerId, quantity }) => {
      try {
        const reply = await client.command(
          saleId,
          { type: 'PlaceOrder', customerId, quantity },
          BURST_REQUEST_TIMEOUT_MS,
        );
        lastReplyMs = performance.now() - started;
        if (reply.ok && reply.kind === 'order')
          acked.push({ orderId: reply.order.orderId, saleId, customerId, quantity });
      } catch {
        addUnits(unknownUnits, customerId, quantity);
      }
    }),
  );
  const burstMs = performance.now() - started;
  clearTimeout(timer);
  killOnce();
  await killed;
  return {
    requests: bodies.length,
    acked,
    unknownUnits,
    customers,
    killAfterMs,
    burstMs,
    lastReplyMs,
  };
}

/**
 * The burst after recovery, all at once: every customer of the killed burst asks for one unit more
 * (refused at the cap unless the recovery forgot what they bought), and fresh customers ask for
 * the whole stock in single units. A request left unanswered by a serving engine is a breach.
 */
export async function buyAfterRecovery(
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
  const unknownUnits = new Map<string, number>();
  const unanswered: string[] = [];
  await Promise.all(
    bodies.map(async ({ customerId, quantity }) => {
      try {
        const reply = await client.placeOrder(saleId, customerId, quantity);
        if (reply.ok && reply.kind === 'order')
          acked.push({ orderId: reply.order.orderId, saleId, customerId, quantity });
      } catch (error) {
        addUnits(unknownUnits, customerId, quantity);
        unanswered.push(
          `after recovery, ${customerId}'s order got no answer: ${(error as Error).message}`,
        );
      }
    }),
  );
  return { requests: bodies.length, acked, unknownUnits, customers: fresh, unanswered };
}
