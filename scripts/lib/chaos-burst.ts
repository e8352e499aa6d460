import { placeOrder } from './chaos-client.js';
import type { PlannedOrder } from './chaos-plan.js';

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

export async function runBurst(
  orders: readonly PlannedOrder[],
  gatewayUrls: readonly string[],
  onAnswered: (answered: number) => void,
): Promise<BurstResult> {
  const acknowledged: Acknowledged[] = [];
  const gaveUp: string[] = [];
  const answerBreaches: string[] = [];
  const replayBreaches: string[] = [];
  let refused = 0;
  let retried = 0;
  let replaysChecked = 0;
  let answered = 0;

  const one = async (planned: PlannedOrder): Promise<void> => {
    const { outcome, attempts } = await placeOrder(
      planned,
      gatewayUrls,
      planned.firstGateway,
      jitter,
    );
    if (attempts > 1) retried += 1;
    answered += 1;
    onAnswered(answered);
    const what = `${planned.customerId} key ${planned.key} (${planned.quantity} u)`;
    switch (outcome.kind) {
      case 'refused':
        refused += 1;
        return;
      case 'gave-up':
        gaveUp.push(`${what}: ${outcome.last}`);
        return;
      case 'unexpected':
        answerBreaches.push(`${what}: unexpected ${outcome.status} ${outcome.body}`);
        return;
      case 'acknowledged': {
        const { order } = outcome;
        if (order.customerId !== planned.customerId || order.quantity !== planned.quantity) {
          answerBreaches.push(`${what}: acknowledged as ${JSON.stringify(order)}`);
          return;
        }
        acknowledged.push({
          orderId: order.orderId,
          saleId: planned.saleId,
          customerId: planned.customerId,
          quantity: planned.quantity,
          key: planned.key,
          status: outcome.status,
        });
        if (!planned.checkReplay) return;
        // The retry of a client that lost the answer, on the other gateway.
        const replay = await placeOrder(planned, gatewayUrls, planned.firstGateway + 1, jitter);
        const again = replay.outcome;
        if (again.kind === 'gave-up') return;
        replaysChecked += 1;
        if (again.kind !== 'acknowledged')
          replayBreaches.push(
            `${what}: replay of ${order.orderId} answered ${JSON.stringify(again)}`,
          );
        else if (again.status !== 200 || again.order.orderId !== order.orderId)
          replayBreaches.push(
            `I5: ${what}: replay of ${order.orderId} answered ${again.status} ${again.order.orderId}`,
          );
        return;
      }
    }
  };

  onAnswered(0);
  await Promise.all(orders.map(one));
  return {
    acknowledged,
    refused,
    gaveUp,
    retried,
    replaysChecked,
    answerBreaches,
    replayBreaches,
  };
}
