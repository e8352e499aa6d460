import { setTimeout as delay } from 'node:timers/promises';
import { errorCodeOf, type JsonReply, requestJson, retryAfterMs } from './http-json.js';

// Creating and reading a sale through a gateway's HTTP API, as an operator would: the tools set a
// sale up and read its stock with the same routes a shop uses.

export interface SaleSettings {
  readonly name: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
}

/** GET /v1/sales/:saleId, as the gateway's schema returns it. */
export interface SaleState {
  readonly saleId: string;
  readonly name: string;
  readonly stock: number;
  readonly remaining: number;
  readonly perCustomerLimit: number;
  readonly status: 'SCHEDULED' | 'OPEN' | 'SOLD_OUT' | 'ENDED';
}

/** Why an admin or read request failed, with the gateway's own words. */
export class SaleRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** A 503 (OVERLOADED, ENGINE_UNAVAILABLE) is retried after its Retry-After, this many times. */
const UNAVAILABLE_RETRIES_MAX = 5;
/** Bounds a Retry-After, so a tool never sleeps long on a proxy's word. */
const RETRY_AFTER_MS_MAX = 5_000;
/** The pause after a 503 without a Retry-After. */
const RETRY_AFTER_MS_DEFAULT = 1_000;

/**
 * Sends until the answer is not a 503, as a client should: a gateway shedding for a moment or an
 * engine restarting asks for a retry. Both requests here are safe to repeat (a PUT of the same
 * settings, a read).
 */
async function retryingUnavailable(send: () => Promise<JsonReply>): Promise<JsonReply> {
  for (let retries = 0; ; retries += 1) {
    const reply = await send();
    if (reply.status !== 503 || retries === UNAVAILABLE_RETRIES_MAX) return reply;
    await delay(retryAfterMs(reply.headers, RETRY_AFTER_MS_MAX, RETRY_AFTER_MS_DEFAULT));
  }
}

function refusal(what: string, status: number, body: unknown): SaleRequestError {
  const code = errorCodeOf(body);
  const said = (body as { message?: unknown } | null)?.message;
  const detail = typeof said === 'string' ? said : JSON.stringify(body);
  return new SaleRequestError(status, code, `${what}: ${status} ${code ?? ''} ${detail}`.trim());
}

/**
 * PUT /v1/admin/sales/:saleId: creates the sale (true) or changes it (false). After a retried 503
 * "changed" may mean the first attempt created it.
 */
export async function configureSale(
  gatewayUrl: string,
  adminToken: string,
  saleId: string,
  settings: SaleSettings,
): Promise<boolean> {
  const reply = await retryingUnavailable(() =>
    requestJson(`${gatewayUrl}/v1/admin/sales/${encodeURIComponent(saleId)}`, {
      method: 'PUT',
      token: adminToken,
      body: settings,
    }),
  );
  if (reply.status !== 201 && reply.status !== 200)
    throw refusal(`configuring sale ${saleId}`, reply.status, reply.body);
  return reply.status === 201;
}

/** Whether the sale exists (a 503 while the stack is still starting is asked again). */
export async function saleExists(gatewayUrl: string, saleId: string): Promise<boolean> {
  const reply = await retryingUnavailable(() =>
    requestJson(`${gatewayUrl}/v1/sales/${encodeURIComponent(saleId)}`),
  );
  if (reply.status === 200 || reply.status === 404) return reply.status === 200;
  throw refusal(`reading sale ${saleId}`, reply.status, reply.body);
}

export async function readSale(gatewayUrl: string, saleId: string): Promise<SaleState> {
  const reply = await retryingUnavailable(() =>
    requestJson(`${gatewayUrl}/v1/sales/${encodeURIComponent(saleId)}`),
  );
  if (reply.status !== 200) throw refusal(`reading sale ${saleId}`, reply.status, reply.body);
  return reply.body as SaleState;
}
