import { setTimeout as delay } from 'node:timers/promises';
import { errorCodeOf, networkErrorCode, requestJson } from '../client/http-json.js';
import type { Random } from '../client/seeded-random.js';

// A customer's HTTP client for the chaos run, with the retry policy a real client has: an answer
// that says "try again" (503, 429) or no answer at all (the gateway died mid-request, refused the
// connection, or is silent) is retried with the same Idempotency-Key on the next gateway, a
// bounded number of times with capped, jittered backoff. Only a 201/200 counts as acknowledged.

/** A live gateway answers within its engine timeout (1 s here); one silent this long is dead. */
export const HTTP_TIMEOUT_MS = 5_000;
/**
 * Attempts per request. With the backoff below, about 15 s of trying: enough to ride out an
 * engine's or NATS's restart several times over, bounded so a wedged stack ends the run.
 */
export const ATTEMPTS_MAX = 40;
const RETRY_BASE_MS = 25;
const RETRY_CAP_MS = 400;

/** Refusals that are final answers, not failures: the order was decided and refused. */
const REFUSALS = new Set(['SOLD_OUT', 'INSUFFICIENT_STOCK', 'LIMIT_EXCEEDED']);

export interface OrderIntent {
  readonly saleId: string;
  readonly customerId: string;
  readonly token: string;
  readonly quantity: number;
  readonly key: string;
}

export interface OrderView {
  readonly orderId: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly status: string;
}

export type OrderOutcome =
  | { readonly kind: 'acknowledged'; readonly status: 200 | 201; readonly order: OrderView }
  | { readonly kind: 'refused'; readonly code: string }
  /** Retries exhausted: the order may or may not exist; the client never heard. */
  | { readonly kind: 'gave-up'; readonly last: string }
  /** An answer no client should ever get here (4xx other than the refusals, 5xx other than 503). */
  | { readonly kind: 'unexpected'; readonly status: number; readonly body: string };

export interface Attempted<T> {
  readonly outcome: T;
  readonly attempts: number;
}

type Step<T> = { readonly done: T } | { readonly retry: string };

interface Reply {
  readonly status: number;
  /** The body as text, for `unexpected` outcomes. */
  readonly text: string;
  readonly body: unknown;
}

async function send(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  token: string,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<Reply> {
  const reply = await requestJson(url, {
    method,
    token,
    body,
    headers,
    timeoutMs: HTTP_TIMEOUT_MS,
  });
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  return { status: reply.status, text, body: reply.body };
}

const errorCode = (body: unknown): string => errorCodeOf(body) ?? 'no error code';

/**
 * Runs `step` against the gateways in turn, starting at `first`, until it is done or the attempts
 * run out (then `giveUp` with the last reason).
 */
async function withRetries<T>(
  gatewayUrls: readonly string[],
  first: number,
  random: Random,
  step: (gatewayUrl: string) => Promise<Step<T>>,
  giveUp: (last: string) => T,
): Promise<Attempted<T>> {
  let last = 'not tried';
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt += 1) {
    if (attempt > 0) {
      // Full jitter: a crowd of clients retrying after the same failure spreads out.
      const ceilingMs = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
      await delay(random() * ceilingMs);
    }
    const url = gatewayUrls[(first + attempt) % gatewayUrls.length]!;
    try {
      const result = await step(url);
      if ('done' in result) return { outcome: result.done, attempts: attempt + 1 };
      last = result.retry;
    } catch (error) {
      last = networkErrorCode(error);
    }
  }
  return { outcome: giveUp(last), attempts: ATTEMPTS_MAX };
}

const isRetryable = (status: number) => status === 503 || status === 429;

export function placeOrder(
  intent: OrderIntent,
  gatewayUrls: readonly string[],
  first: number,
  random: Random,
): Promise<Attempted<OrderOutcome>> {
  return withRetries<OrderOutcome>(
    gatewayUrls,
    first,
    random,
    async (url) => {
      const reply = await send(
        'POST',
        `${url}/v1/sales/${intent.saleId}/orders`,
        intent.token,
        { quantity: intent.quantity },
        { 'idempotency-key': intent.key },
      );
      if (reply.status === 201 || reply.status === 200)
        return {
          done: { kind: 'acknowledged', status: reply.status, order: reply.body as OrderView },
        };
      const code = errorCode(reply.body);
      if (reply.status === 409 && REFUSALS.has(code)) return { done: { kind: 'refused', code } };
      if (isRetryable(reply.status)) return { retry: `${reply.status} ${code}` };
      return { done: { kind: 'unexpected', status: reply.status, body: reply.text.slice(0, 300) } };
    },
    (last) => ({ kind: 'gave-up', last }),
  );
}

/** Creates (or finds) a sale through the admin route; throws if no gateway manages to. */
export async function createSale(
  gatewayUrls: readonly string[],
  adminToken: string,
  saleId: string,
  settings: { readonly stock: number; readonly perCustomerLimit: number },
  random: Random,
): Promise<number> {
  const { outcome, attempts } = await withRetries<string | null>(
    gatewayUrls,
    0,
    random,
    async (url) => {
      const reply = await send('PUT', `${url}/v1/admin/sales/${saleId}`, adminToken, {
        name: saleId,
        ...settings,
      });
      if (reply.status === 201 || reply.status === 200) return { done: null };
      if (isRetryable(reply.status)) return { retry: `${reply.status} ${errorCode(reply.body)}` };
      return { done: `${reply.status} ${reply.text.slice(0, 300)}` };
    },
    (last) => `gave up after ${ATTEMPTS_MAX} attempts: ${last}`,
  );
  if (outcome !== null) throw new Error(`creating sale ${saleId}: ${outcome}`);
  return attempts;
}

/** The order as the customer reads it back through a gateway; null when it does not exist. */
export async function readOrder(
  gatewayUrls: readonly string[],
  first: number,
  token: string,
  orderId: string,
  random: Random,
): Promise<Attempted<OrderView | null | string>> {
  return withRetries<OrderView | null | string>(
    gatewayUrls,
    first,
    random,
    async (url) => {
      const reply = await send('GET', `${url}/v1/orders/${encodeURIComponent(orderId)}`, token);
      if (reply.status === 200) return { done: reply.body as OrderView };
      if (reply.status === 404) return { done: null };
      if (isRetryable(reply.status)) return { retry: `${reply.status} ${errorCode(reply.body)}` };
      return { done: `${reply.status} ${reply.text.slice(0, 300)}` };
    },
    (last) => `gave up: ${last}`,
  );
}
