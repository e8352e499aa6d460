import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { errorCodeOf, networkErrorCode, requestJson } from './http-json.js';

// Placing one order through the HTTP API as a customer would (bearer token, a fresh
// Idempotency-Key), and sorting the reply: an order, a refusal from the error catalogue, or no
// answer. The burst tool and bench:compare place every order this way, and their audits ask
// `mayHaveBeenPlaced` which replies leave the order's existence open.

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

/** The one 5xx refusal sent before anything was asked of the engine: nothing was done. */
const NOTHING_DONE_5XX_CODES: ReadonlySet<string> = new Set(['OVERLOADED']);

/**
 * True when the order might exist although the client was not told so: no answer, or a 5xx after
 * which the engine may have decided it (ENGINE_UNAVAILABLE: the gateway gave up waiting;
 * INTERNAL_ERROR). The audits allow for these.
 */
export function mayHaveBeenPlaced(outcome: PlacementOutcome): boolean {
  if (outcome.kind === 'failed') return true;
  return (
    outcome.kind === 'rejected' &&
    outcome.status >= 500 &&
    !NOTHING_DONE_5XX_CODES.has(outcome.code)
  );
}

/** Sorts a reply by its status and parsed body. */
export function classifyReply(status: number, body: unknown): PlacementOutcome {
  if (status === 201 || status === 200) {
    const order = (body ?? {}) as { orderId?: unknown; customerId?: unknown; quantity?: unknown };
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
  baseUrl: string,
  saleId: string,
  token: string,
  quantity: number,
  dispatcher?: Dispatcher,
): Promise<PlacementOutcome> {
  try {
    const reply = await requestJson(`${baseUrl}/v1/sales/${encodeURIComponent(saleId)}/orders`, {
      method: 'POST',
      token,
      body: { quantity },
      headers: { 'idempotency-key': randomUUID() },
      dispatcher,
    });
    return classifyReply(reply.status, reply.body);
  } catch (error) {
    return { kind: 'failed', reason: networkErrorCode(error) };
  }
}
