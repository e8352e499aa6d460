import { randomUUID } from 'node:crypto';
import {
  errorCodeOf,
  type JsonReply,
  networkErrorCode,
  requestJson,
} from '../../scripts/lib/http-json.js';

// Placing an order as a customer would (bearer token, a fresh Idempotency-Key) on either
// system, and sorting the reply: an order, a refusal from the catalogue, or no answer at all.

export type OrderOutcome =
  | {
      readonly kind: 'accepted';
      readonly status: number;
      readonly orderId: string;
      readonly customerId: string;
      readonly quantity: number;
    }
  | { readonly kind: 'rejected'; readonly status: number; readonly code: string }
  /** No answer from the catalogue (network error, timeout, 500): the order may exist. */
  | { readonly kind: 'failed'; readonly reason: string };

/** 503s that are refusals (nothing done, or the gateway gave up on the engine), not crashes. */
const REFUSING_UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'OVERLOADED',
  'ENGINE_UNAVAILABLE',
]);

function classify(reply: JsonReply): OrderOutcome {
  if (reply.status === 201 || reply.status === 200) {
    const { orderId, customerId, quantity } = (reply.body ?? {}) as Record<string, unknown>;
    if (
      typeof orderId === 'string' &&
      typeof customerId === 'string' &&
      typeof quantity === 'number'
    )
      return { kind: 'accepted', status: reply.status, orderId, customerId, quantity };
    return { kind: 'failed', reason: `${reply.status} without an order` };
  }
  const code = errorCodeOf(reply.body);
  if (code === null) return { kind: 'failed', reason: `${reply.status} without an error code` };
  if (reply.status >= 500 && !REFUSING_UNAVAILABLE_CODES.has(code))
    return { kind: 'failed', reason: `${reply.status} ${code}` };
  return { kind: 'rejected', status: reply.status, code };
}

export async function placeOrder(
  baseUrl: string,
  saleId: string,
  token: string,
  quantity: number,
): Promise<OrderOutcome> {
  try {
    const reply = await requestJson(`${baseUrl}/v1/sales/${saleId}/orders`, {
      method: 'POST',
      token,
      body: { quantity },
      headers: { 'idempotency-key': randomUUID() },
    });
    return classify(reply);
  } catch (error) {
    return { kind: 'failed', reason: networkErrorCode(error) };
  }
}
