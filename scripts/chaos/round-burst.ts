import { addUnits } from '../audit/reading.js';
import { type OrderOutcome, type OrderView, placeOrder } from './retrying-client.js';
import type { PlannedOrder } from './round-plan.js';

// One round's burst: every planned order sent at once through the gateways, each with its
// client's retries, and every final answer recorded. Some acknowledged orders are sent once more
// with the same key, as a client that never saw the answer would: that must be the same order
// (200), never a second one (I5). `onAnswered` hears the count of final answers as they come, so
// the round can kill a process at a chosen point of the burst.

export interface Acknowledged {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly key: string;
  /** 200: an earlier attempt was accepted but its answer lost, and the retry got the order. */
  readonly status: 200 | 201;
}

export interface BurstResult {
  readonly acknowledged: Acknowledged[];
  readonly refused: number;
  /** Orders whose client gave up: outcome unknown to the client (not a breach). */
  readonly gaveUp: string[];
  /** Units of the orders whose outcome the client never learned, per customer (the audit's I1). */
  readonly unknownUnits: Map<string, number>;
  /** Requests that needed more than one attempt. */
  readonly retried: number;
  readonly replaysChecked: number;
  /** Answers that break the contract: unexpected statuses, wrong bodies. */
  readonly answerBreaches: string[];
  /** Replays of an acknowledged key that did not answer 200 with the same order. */
  readonly replayBreaches: string[];
}

/** Jitter for retries: not part of the plan, so not drawn from the seeded dice. */
const jitter = Math.random;

/** What a burst's answers add up to, filled in as they come. */
interface MutableResult extends BurstResult {
  refused: number;
  retried: number;
  replaysChecked: number;
}

export async function runBurst(
  orders: readonly PlannedOrder[],
  gatewayUrls: readonly string[],
  onAnswered: (answered: number) => void,
): Promise<BurstResult> {
  const result: MutableResult = {
    acknowledged: [],
    refused: 0,
    gaveUp: [],
    unknownUnits: new Map(),
    retried: 0,
    replaysChecked: 0,
    answerBreaches: [],
    replayBreaches: [],
  };
  let answered = 0;
  const one = async (planned: PlannedOrder): Promise<void> => {
    const { outcome, attempts } = await placeOrder(
      planned,
      gatewayUrls,
      planned.firstGateway,
      jitter,
    );
    if (attempts > 1) result.retried += 1;
    answered += 1;
    onAnswered(answered);
    const order = recordAnswer(result, planned, outcome);
    if (order !== null && planned.checkReplay)
      await checkReplay(result, planned, order, gatewayUrls);
  };
  onAnswered(0);
  await Promise.all(orders.map(one));
  return result;
}

const describe = (planned: PlannedOrder): string =>
  `${planned.customerId} key ${planned.key} (${planned.quantity} u)`;

/** Records one final answer; the order when it was acknowledged as asked, else null. */
function recordAnswer(
  result: MutableResult,
  planned: PlannedOrder,
  outcome: OrderOutcome,
): OrderView | null {
  const what = describe(planned);
  switch (outcome.kind) {
    case 'refused':
      result.refused += 1;
      return null;
    case 'gave-up':
      result.gaveUp.push(`${what}: ${outcome.last}`);
      addUnits(result.unknownUnits, planned.customerId, planned.quantity);
      return null;
    case 'unexpected':
      addUnits(result.unknownUnits, planned.customerId, planned.quantity);
      result.answerBreaches.push(`${what}: unexpected ${outcome.status} ${outcome.body}`);
      return null;
    case 'acknowledged': {
      const { order } = outcome;
      if (order.customerId !== planned.customerId || order.quantity !== planned.quantity) {
        // A breach already; the order it made is not counted as acknowledged either way.
        addUnits(result.unknownUnits, planned.customerId, planned.quantity);
        result.answerBreaches.push(`${what}: acknowledged as ${JSON.stringify(order)}`);
        return null;
      }
      result.acknowledged.push({
        orderId: order.orderId,
        saleId: planned.saleId,
        customerId: planned.customerId,
        quantity: planned.quantity,
        key: planned.key,
        status: outcome.status,
      });
      return order;
    }
  }
}

/** The retry of a client that lost the answer, on the other gateway: the same order, 200. */
async function checkReplay(
  result: MutableResult,
  planned: PlannedOrder,
  order: OrderView,
  gatewayUrls: readonly string[],
): Promise<void> {
  const what = describe(planned);
  const replay = await placeOrder(planned, gatewayUrls, planned.firstGateway + 1, jitter);
  const again = replay.outcome;
  if (again.kind === 'gave-up') return;
  result.replaysChecked += 1;
  if (again.kind !== 'acknowledged')
    result.replayBreaches.push(
      `${what}: replay of ${order.orderId} answered ${JSON.stringify(again)}`,
    );
  else if (again.status !== 200 || again.order.orderId !== order.orderId)
    result.replayBreaches.push(
      `I5: ${what}: replay of ${order.orderId} answered ${again.status} ${again.order.orderId}`,
    );
}
