import { auditAdmission } from '../../scripts/audit/admission.js';
import { readAdmissionOverHttp } from '../../scripts/audit/admission-reader.js';
import { type AuditRow, rowOf } from '../../scripts/audit/audit-rows.js';
import { TokenPool } from '../../scripts/client/token-pool.js';
import type { BenchRow } from '../table.js';
import { admissionRate } from './admission-rate.js';
import {
  type CustomerRange,
  type Joined,
  joinOne,
  joinRange,
  type MeasuredRun,
  orderRange,
} from './customer-runs.js';
import type { WaitingRoomBenchOptions } from './options.js';
import { QueueWatch } from './queue-watch.js';
import { createPlainSale, createRoomSale } from './room-sales.js';
import { BENCH_JWT_SECRET, type RoomStack } from './room-stack.js';

// Rows (a) and (c): N customers join the lobby through the two join gateways (cheap proof of
// work), beside a baseline in the same run (one order each from as many new customers on a plain
// sale, same gateways, same concurrency); the draw; a few late joiners, one after another, who
// must get the next tickets in the order they came; then everyone is admitted at admitPerSecond,
// which is the rate row's measurement (N ≥ 60 R gives a minute and more with the queue never
// empty). The I9 audit reads every customer back and re-runs the draw from the published seed.

export const LOBBY_SALE = 'wr-lobby';
const ORDERS_SALE = 'wr-orders';
const WARM_SALE = 'wr-warm';
/** Joins before the measured ones, on a sale of their own: the JIT's warm-up. */
const WARM_JOINS_MAX = 1_000;
const WARM_JOINS_MIN = 20;
/**
 * What a join takes in orders of the baseline, with room to spare: two requests, a proof of work
 * checked and a command against one request (measured: about 3; 2 left 988 of 20,000 late).
 */
const JOIN_COST_ORDERS = 4;
/** The lobby lasts this many times the time the joins should take. */
const LOBBY_MARGIN = 1.3;
const LOBBY_MS_MIN = 5_000;
/** The warm-up sale's draw: never during the run. */
const NEVER_MS = 3_600_000;
/** Customers who join after the draw, as a share of N (at least one). */
const LATE_SHARE = 0.01;
/** The draw or the last admission later than expected by this much fails the bench. */
const WAIT_SLACK_MS = 60_000;
/** The admission rate's goal: the mean within this share of admitPerSecond. */
const RATE_TOLERANCE = 0.05;
const LATE_FIFO_CHECK = 'late joiners: the next tickets, first come first served (I9)';
const ALL_ADMITTED_CHECK = 'every customer who joined is admitted';

export interface LobbyOutcome {
  readonly rows: BenchRow[];
  readonly audit: AuditRow[];
}

interface Plan {
  readonly n: number;
  readonly late: number;
  readonly warm: number;
  readonly tokens: TokenPool;
  readonly range: (saleId: string, from: number, to: number) => CustomerRange;
}

function planFor(stack: RoomStack, { customers: n, concurrency }: WaitingRoomBenchOptions): Plan {
  const warm = Math.max(WARM_JOINS_MIN, Math.min(WARM_JOINS_MAX, Math.round(n / 10)));
  const late = Math.max(1, Math.round(n * LATE_SHARE));
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  // Customers 0…N−1 join the lobby, then the late ones, the warm-up's, the baseline's.
  const tokens = new TokenPool(BENCH_JWT_SECRET, n + late + warm + n, `q-${run}-`);
  const range = (saleId: string, from: number, to: number): CustomerRange => ({
    urls: stack.joinUrls,
    saleId,
    tokens,
    from,
    to,
    concurrency,
  });
  return { n, late, warm, tokens, range };
}

interface Joins {
  readonly orders: MeasuredRun<boolean>;
  readonly lobby: MeasuredRun<Joined>;
  readonly drawAt: number;
}

/** The warm-up, the baseline, then the lobby's joins (measured), `watch` following the sale. */
async function joinTheLobby(
  stack: RoomStack,
  plan: Plan,
  admitPerSecond: number,
  watch: (saleId: string) => Promise<void>,
): Promise<Joins> {
  const { n, late, warm } = plan;
  const warmFrom = n + late;
  const baseFrom = warmFrom + warm;
  await createRoomSale(stack.allUrls, stack.adminToken, WARM_SALE, {
    drawAt: Date.now() + NEVER_MS,
    admitPerSecond,
  });
  console.log(`warm-up: ${warm} joins…`);
  await joinRange(plan.range(WARM_SALE, warmFrom, baseFrom), stack.joinGroups);
  await createPlainSale(stack.allUrls, stack.adminToken, ORDERS_SALE, n);
  console.log(`baseline: ${n} orders, one per new customer…`);
  const orders = await orderRange(
    plan.range(ORDERS_SALE, baseFrom, baseFrom + n),
    stack.joinGroups,
  );
  // From the baseline, not the warm-up (whose rate is the cold JIT's): joins that come after
  // the draw anyway are late joiners, and audited as such.
  const lobbyMs = Math.max(LOBBY_MS_MIN, orders.elapsedMs * JOIN_COST_ORDERS * LOBBY_MARGIN);
  const drawAt = Date.now() + lobbyMs;
  await createRoomSale(stack.allUrls, stack.adminToken, LOBBY_SALE, { drawAt, admitPerSecond });
  await watch(LOBBY_SALE);
  console.log(`${n} customers join the lobby (the draw in ${(lobbyMs / 1_000).toFixed(0)} s)…`);
  const lobby = await joinRange(plan.range(LOBBY_SALE, 0, n), stack.joinGroups);
  return { orders, lobby, drawAt };
}

export async function lobbyRows(
  stack: RoomStack,
  options: WaitingRoomBenchOptions,
): Promise<LobbyOutcome> {
  const plan = planFor(stack, options);
  const { admitPerSecond } = options;
  const watches: QueueWatch[] = [];
  try {
    const joins = await joinTheLobby(stack, plan, admitPerSecond, async (saleId) => {
      watches.push(await QueueWatch.open(stack.joinUrls[0] as string, saleId));
    });
    const following = watches[0];
    if (following === undefined) throw new Error('the lobby was never followed');
    const toDraw = joins.drawAt - Date.now() + WAIT_SLACK_MS;
    await following.until('the draw', (m) => m.state === 'ADMITTING', toDraw);
    const late: Joined[] = [];
    // One after another: the order they come in is the order of their tickets.
    for (let c = plan.n; c < plan.n + plan.late; c += 1)
      late.push(await joinOne(plan.range(LOBBY_SALE, 0, 0), c));
    const total = plan.n + plan.late;
    console.log(`admitting ${total} at ${admitPerSecond}/s…`);
    const inTime = (total / admitPerSecond) * 1_000 + WAIT_SLACK_MS;
    await following.until(
      'everyone admitted',
      (m) => m.serving >= total && m.waiting === 0,
      inTime,
    );
    const audit = await auditLobby(stack, plan, [...joins.lobby.results, ...late]);
    return {
      rows: [
        ...joinRows(joins, plan.n),
        ...rateRows(audit.admittedAt, admitPerSecond, following.slowedMessages),
      ],
      audit: audit.rows,
    };
  } finally {
    for (const watch of watches) watch.close();
  }
}

async function auditLobby(stack: RoomStack, plan: Plan, joined: readonly Joined[]) {
  const idOf = (customer: number) => plan.tokens.customerId(customer);
  const byId = new Map(joined.map((j) => [idOf(j.customer), j.customer]));
  console.log(`reading back ${joined.length} customers' places…`);
  const reading = await readAdmissionOverHttp(
    {
      gatewayUrls: stack.joinUrls,
      saleId: LOBBY_SALE,
      tokenOf: (id) => plan.tokens.token(byId.get(id) as number),
      progress: true,
    },
    [...byId.keys()],
  );
  const lobbySize = reading.draw.lobby?.length ?? 0;
  const late = joined.slice(plan.n);
  const fifo = late.flatMap((j, i) => {
    const before = i === 0 ? lobbySize : (late[i - 1]?.ticket ?? Number.POSITIVE_INFINITY);
    return j.status === 202 && j.ticket !== null && j.ticket > before
      ? []
      : [`${idOf(j.customer)}: ${j.status} ticket ${j.ticket} after ${before}`];
  });
  const notIn = joined
    .filter((j) => j.status !== 202)
    .map((j) => `${idOf(j.customer)}: ${j.status}`);
  const waiting = reading.places.filter((p) => p.admittedAt === null).map((p) => p.customerId);
  return {
    rows: [
      ...auditAdmission(reading),
      rowOf(LATE_FIFO_CHECK, late.length, fifo),
      rowOf(ALL_ADMITTED_CHECK, joined.length, [
        ...notIn,
        ...waiting.map((id) => `${id}: not admitted`),
      ]),
    ],
    admittedAt: reading.places.flatMap((p) => (p.admittedAt === null ? [] : [p.admittedAt])),
  };
}

const perSecond = (count: number, ms: number) => (count * 1_000) / ms;

function joinRows({ orders, lobby }: Joins, n: number): BenchRow[] {
  const ordersPerS = perSecond(n, orders.elapsedMs);
  const joinsPerS = perSecond(n, lobby.elapsedMs);
  const inLobby = lobby.results.filter((j) => j.state === 'LOBBY').length;
  const baseline = `one order per new customer on a plain sale, ${Math.round(ordersPerS)}/s`;
  return [
    {
      name: 'baseline: orders, a new customer each',
      value: ordersPerS,
      unit: 'orders/s',
      serverCpuUs: (orders.serverCpuMs * 1_000) / n,
      note: `${orders.results.filter(Boolean).length} of ${n} placed`,
    },
    {
      name: `(a) join the lobby: challenge, solve, join × ${n}`,
      value: joinsPerS,
      unit: 'joins/s',
      ratio: joinsPerS / ordersPerS,
      serverCpuUs: (lobby.serverCpuMs * 1_000) / n,
      baseline,
      note: `${inLobby} joined before the draw; two HTTP requests and one engine command each`,
    },
  ];
}

function rateRows(admittedAt: readonly number[], setting: number, slowed: number): BenchRow[] {
  const rate = admissionRate(admittedAt);
  const within = Math.abs(rate.meanPerS / setting - 1) <= RATE_TOLERANCE;
  return [
    {
      name: `(c) admission rate, mean over ${rate.seconds} s (queue never empty)`,
      value: rate.meanPerS,
      unit: 'admitted/s',
      ratio: rate.meanPerS / setting,
      baseline: `admitPerSecond ${setting}`,
      note: [
        `${within ? 'within' : 'OUTSIDE'} ±5%; ${rate.admitted} admitted`,
        `${rate.ticks} ticks admitted, ${rate.meanTickGapMs.toFixed(0)} ms apart on average`,
        `${slowed} queue messages said slowed`,
      ].join('; '),
    },
    {
      name: '(c) most admitted in any sliding second',
      value: rate.maxInAnySecond,
      unit: 'admitted',
      ratio: rate.maxInAnySecond / setting,
      baseline: `admitPerSecond ${setting}`,
      note: rate.maxInAnySecond <= setting ? 'never above the setting' : 'ABOVE the setting',
    },
  ];
}
