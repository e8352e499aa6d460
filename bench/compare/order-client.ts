import { randomUUID } from 'node:crypto';
import { request } from 'undici';

// A client of the HTTP API both systems serve: place an order as a customer would (bearer
// token, a fresh Idempotency-Key) and sort the reply; plain JSON reads and writes for setup and
// audit. undici's `request` rather than `fetch`, which on this machine is slow enough to
// measure itself instead of the server.

/** A reply that has not come after this long is given up and counted as failed. */
const REPLY_TIMEOUT_MS = 30_000;

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

export interface JsonReply {
  readonly status: number;
  readonly body: unknown;
}

export async function sendJson(
  url: string,
  method: 'GET' | 'POST' | 'PUT',
  token: string | null,
  body?: unknown,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<JsonReply> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await request(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: REPLY_TIMEOUT_MS,
    bodyTimeout: REPLY_TIMEOUT_MS,
  });
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the caller sees the text.
  }
  return { status: response.statusCode, body: parsed };
}

function classify(reply: JsonReply): OrderOutcome {
  const body = (typeof reply.body === 'object' && reply.body !== null ? reply.body : {}) as Record<
    string,
    unknown
  >;
  if (reply.status === 201 || reply.status === 200) {
    const { orderId, customerId, quantity } = body;
    if (
      typeof orderId === 'string' &&
      typeof customerId === 'string' &&
      typeof quantity === 'number'
    )
      return { kind: 'accepted', status: reply.status, orderId, customerId, quantity };
    return { kind: 'failed', reason: `${reply.status} without an order` };
  }
  if (reply.status >= 500 && body.error !== 'OVERLOADED' && body.error !== 'ENGINE_UNAVAILABLE')
    return { kind: 'failed', reason: `${reply.status} ${String(body.error ?? '')}`.trim() };
  if (typeof body.error === 'string')
    return { kind: 'rejected', status: reply.status, code: body.error };
  return { kind: 'failed', reason: `${reply.status} without an error code` };
}

export async function placeOrder(
  baseUrl: string,
  saleId: string,
  token: string,
  quantity: number,
): Promise<OrderOutcome> {
  try {
    const reply = await sendJson(
      `${baseUrl}/v1/sales/${saleId}/orders`,
      'POST',
      token,
      { quantity },
      { 'idempotency-key': randomUUID() },
    );
    return classify(reply);
  } catch (error) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    return { kind: 'failed', reason: String(code ?? name ?? 'Error') };
  }
}
