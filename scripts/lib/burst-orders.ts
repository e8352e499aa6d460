import { randomUUID } from 'node:crypto';
import type { PlannedOrder } from './burst-plan.js';
import { errorCodeOf, networkErrorCode, requestJson } from './http-json.js';
import { type LoadRun, runLoad } from './load-runner.js';
import { startProgress } from './progress.js';
import type { TokenPool } from './token-pool.js';

// Sends a planned burst of orders through the HTTP API like real clients: each request with its
// customer's token and a fresh Idempotency-Key, round-robin over the gateways, at the chosen
// concurrency. Every reply is classified; none is retried here.

/**
 * Codes after which the order may still have been placed: the gateway gave up waiting for the
 * engine (or broke), not the engine refusing it. The audit allows for these.
 */
const OUTCOME_UNKNOWN_CODES: ReadonlySet<string> = new Set([
  'ENGINE_UNAVAILABLE',
  'INTERNAL_ERROR',
]);

export type PlacementOutcome =
  | {
      readonly kind: 'accepted';
      /** 201, or 200 for an idempotent replay (not expected: every key is fresh). */
      readonly status: number;
      readonly orderId: string;
      readonly customerId: string;
      readonly quantity: number;
    }
  | { readonly kind: 'rejected'; readonly status: number; readonly code: string }
  /** No catalogue answer: a network error, a timeout, or a reply outside the contract. */
  | { readonly kind: 'failed'; readonly reason: string };

/** True when the order might exist although the client was not told so. */
export function mayHaveBeenPlaced(outcome: PlacementOutcome): boolean {
  if (outcome.kind === 'failed') return true;
  return outcome.kind === 'rejected' && OUTCOME_UNKNOWN_CODES.has(outcome.code);
}

export interface BurstTarget {
  readonly gatewayUrls: readonly string[];
  readonly saleId: string;
  readonly tokens: TokenPool;
}

function classify(status: number, body: unknown): PlacementOutcome {
  if (status === 201 || status === 200) {
    const order = body as { orderId?: unknown; customerId?: unknown; quantity?: unknown };
    if (
      typeof order.orderId === 'string' &&
      typeof order.customerId === 'string' &&
      typeof order.quantity === 'number'
    )
      return {
        kind: 'accepted',
        status,
        orderId: order.orderId,
        customerId: order.customerId,
        quantity: order.quantity,
      };
    return { kind: 'failed', reason: `${status} without an order` };
  }
  const code = errorCodeOf(body);
  return code === null
    ? { kind: 'failed', reason: `${status} without an error code` }
    : { kind: 'rejected', status, code };
}

export async function placeOrder(
  target: BurstTarget,
  gatewayUrl: string,
  order: PlannedOrder,
): Promise<PlacementOutcome> {
  try {
    const reply = await requestJson(
      `${gatewayUrl}/v1/sales/${encodeURIComponent(target.saleId)}/orders`,
      {
        method: 'POST',
        token: target.tokens.token(order.customer),
        body: { quantity: order.quantity },
        headers: { 'idempotency-key': randomUUID() },
      },
    );
    return classify(reply.status, reply.body);
  } catch (error) {
    return { kind: 'failed', reason: networkErrorCode(error) };
  }
}

export function sendBurst(
  target: BurstTarget,
  plan: readonly PlannedOrder[],
  concurrency: number,
  progressLabel = 'orders',
): Promise<LoadRun<PlacementOutcome>> {
  const progress = startProgress(progressLabel, plan.length);
  const urls = target.gatewayUrls;
  return runLoad({
    total: plan.length,
    concurrency,
    send: (i) => placeOrder(target, urls[i % urls.length]!, plan[i]!),
    onAnswered: (answered) => progress.update(answered),
  }).finally(() => progress.finish());
}
