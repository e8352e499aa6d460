import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { auditAdmission } from '../audit/admission.js';
import { readAdmissionOverHttp } from '../audit/admission-reader.js';
import type { AuditRow } from '../audit/audit-rows.js';
import { startProgress } from '../cli/progress.js';
import { requestJson } from '../client/http-json.js';
import { type LoadRun, mapLimited } from '../client/load-runner.js';
import { type PlacementOutcome, placeOrder } from '../client/order-placement.js';
import type { BurstTarget } from './orders.js';
import type { PlannedOrder } from './plan.js';
import { joinQueue, solveFor } from './waiting-room.js';

// The burst's waiting-room mode (--waiting-room RATE): the sale gets a room whose lobby opens at
// once and whose draw is LOBBY_S later; every customer of the plan solves its proof of work and
// joins; then, in ticket order, each one waits for its admission (polling its own place, as a
// client without a socket does) and sends its planned orders the moment it is admitted. Admission
// is strictly in ticket order, so only the next ticket's place is polled. Its I9 audit reads every
// place back and checks the draw, the order, the orders and the rate (scripts/audit/admission.ts).

/** How often the next ticket's place is asked while it waits. */
const ADMISSION_POLL_MS = 100;
/** Customers that solve and join at once (solving is CPU work: more would only queue). */
const JOIN_CONCURRENCY = 8;
const ADMISSION_TTL_S = 300;

export interface RoomSetting {
  readonly admitPerSecond: number;
  /** Seconds from now to the draw: the lobby's length. */
  readonly lobbyS: number;
}

/** The waiting room to put on the sale (PUT …/sales/:id's `startsAt` and `waitingRoom`). */
export function roomFields(setting: RoomSetting, now: number) {
  return {
    startsAt: new Date(now + setting.lobbyS * 1_000).toISOString(),
    waitingRoom: {
      lobbyOpensAt: new Date(now).toISOString(),
      admitPerSecond: setting.admitPerSecond,
      admissionTtlS: ADMISSION_TTL_S,
    },
  };
}

interface Place {
  readonly state: string;
  readonly ticket: number | null;
}

async function placeOf(target: BurstTarget, customer: number, nth: number): Promise<Place | null> {
  const url = target.gatewayUrls[nth % target.gatewayUrls.length] as string;
  const reply = await requestJson(`${url}/v1/sales/${target.saleId}/queue/me`, {
    token: target.tokens.token(customer),
  });
  return reply.status === 200 ? (reply.body as Place) : null;
}

/** Every customer of the plan solves and joins, through the gateways in turn; those who joined. */
async function joinAll(target: BurstTarget, customers: readonly number[]): Promise<number[]> {
  const progress = startProgress('joins', customers.length);
  let answered = 0;
  const joined = await mapLimited(customers, JOIN_CONCURRENCY, async (customer) => {
    const url = target.gatewayUrls[customer % target.gatewayUrls.length] as string;
    const token = target.tokens.token(customer);
    const reply = await joinQueue(
      url,
      token,
      target.saleId,
      await solveFor(url, token, target.saleId),
    );
    answered += 1;
    progress.update(answered);
    return reply.status === 202 ? customer : null;
  });
  progress.finish();
  return joined.filter((customer): customer is number => customer !== null);
}

/** Waits until the customer is let in (or never will be: closed, left, expired). */
async function admission(target: BurstTarget, customer: number): Promise<void> {
  for (let nth = 0; ; nth += 1) {
    const place = await placeOf(target, customer, nth);
    if (place === null || !['LOBBY', 'WAITING'].includes(place.state)) return;
    await delay(ADMISSION_POLL_MS);
  }
}

/** The tickets of those who joined, once drawn: customers in ticket order. */
async function inTicketOrder(target: BurstTarget, joined: readonly number[]): Promise<number[]> {
  const tickets = await mapLimited(joined, JOIN_CONCURRENCY, async (customer) => {
    for (let nth = 0; ; nth += 1) {
      const place = await placeOf(target, customer, nth);
      if (place?.ticket != null) return [customer, place.ticket] as const;
      if (place !== null && place.state !== 'LOBBY') return [customer, Infinity] as const;
      await delay(ADMISSION_POLL_MS);
    }
  });
  return [...tickets].sort((a, b) => a[1] - b[1]).map(([customer]) => customer);
}

export interface QueueBurstRun extends LoadRun<PlacementOutcome> {
  readonly joined: readonly number[];
}

/** The whole run: joins, the draw, then each customer's orders as it is admitted. */
export async function sendQueueBurst(
  target: BurstTarget,
  plan: readonly PlannedOrder[],
): Promise<QueueBurstRun> {
  const started = performance.now();
  const customers = [...new Set(plan.map((order) => order.customer))];
  const joined = await joinAll(target, customers);
  const outcomes = new Array<PlacementOutcome>(plan.length);
  const latenciesMs = new Float64Array(plan.length);
  const sent: Promise<void>[] = [];
  for (const customer of await inTicketOrder(target, joined)) {
    await admission(target, customer);
    plan.forEach((order, index) => {
      if (order.customer !== customer) return;
      const url = target.gatewayUrls[index % target.gatewayUrls.length] as string;
      const begun = performance.now();
      sent.push(
        placeOrder(url, target.saleId, target.tokens.token(customer), order.quantity).then((o) => {
          outcomes[index] = o;
          latenciesMs[index] = performance.now() - begun;
        }),
      );
    });
  }
  await Promise.all(sent);
  // Customers who never joined (their proof of work failed) were never admitted: their orders
  // are sent too, and must be refused (NOT_ADMITTED, or SOLD_OUT first).
  const never = plan.flatMap((_order, index) => (outcomes[index] === undefined ? [index] : []));
  await mapLimited(never, JOIN_CONCURRENCY, async (index) => {
    const order = plan[index] as PlannedOrder;
    const url = target.gatewayUrls[index % target.gatewayUrls.length] as string;
    outcomes[index] = await placeOrder(
      url,
      target.saleId,
      target.tokens.token(order.customer),
      order.quantity,
    );
  });
  return { outcomes, latenciesMs, elapsedMs: performance.now() - started, joined };
}

/** I9 over what the run's customers read back. */
export async function auditQueueBurst(
  target: BurstTarget,
  joined: readonly number[],
): Promise<AuditRow[]> {
  const { gatewayUrls, saleId, tokens } = target;
  const byId = new Map(joined.map((c) => [tokens.customerId(c), c]));
  const reading = await readAdmissionOverHttp(
    { gatewayUrls, saleId, tokenOf: (id) => tokens.token(byId.get(id) as number), progress: true },
    [...byId.keys()],
  );
  return auditAdmission(reading);
}
