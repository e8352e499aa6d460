import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, errorBody } from './errors.js';
import type { SaleFeeds } from './live/sale-feeds.js';

// The sold-out answer, first. Whether a sale is sold out is public (`GET /v1/sales/:id`), so an
// order without an Idempotency-Key for a sale this gateway knows is sold out gets SOLD_OUT before
// anything else is looked at: no routing, no hooks, no token, no body (DESIGN.md, "The sold-out
// answer may come first"). It runs in the HTTP server's request listener, ahead of Fastify, which
// is as early as a request can be answered: in the opening second's last part almost every
// request is one of these, and it then costs about what a bare route costs.
//
// Anything else — another route, a key, a sale not (yet) known sold out, a body over the limit,
// a %-escaped sale id — goes on to Fastify unchanged, where the route decides as it always did.

const ORDERS_PREFIX = '/v1/sales/';
const ORDERS_SUFFIX = '/orders';

/** The bytes of the refusal, built once: every one of them is the same. */
const SOLD_OUT_BODY = JSON.stringify(errorBody(new ApiError('SOLD_OUT')));
const SOLD_OUT_STATUS = new ApiError('SOLD_OUT').statusCode;
const SOLD_OUT_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(Buffer.byteLength(SOLD_OUT_BODY)),
} as const;
/** A request id from the client is kept only if it looks like one (as Fastify's genReqId). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The sale an order URL names, or null when the URL is not exactly an order route. */
function orderRouteSale(url: string): string | null {
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.startsWith(ORDERS_PREFIX) || !path.endsWith(ORDERS_SUFFIX)) return null;
  const saleId = path.slice(ORDERS_PREFIX.length, path.length - ORDERS_SUFFIX.length);
  // A sale id has no '/' and no '%': anything else is left to the router to judge.
  return saleId.length === 0 || saleId.includes('/') ? null : saleId;
}

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/** Counts an answer as the gateway counts every other (metrics, the periodic summary). */
export type AnswerRecorder = (method: string, route: string, status: number, ms: number) => void;

export interface SoldOutEarlyParts {
  readonly feeds: SaleFeeds;
  readonly bodyBytesMax: number;
  /** While the gateway closes, every request goes to Fastify, which refuses it as it should. */
  readonly closing: () => boolean;
  readonly answered: AnswerRecorder;
  /** The fast path's own counter. */
  readonly counted: () => void;
}

/** Returns a listener that answers the request and says true, or says false and touches nothing. */
export function soldOutEarly(
  parts: SoldOutEarlyParts,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { feeds, bodyBytesMax, closing, answered, counted } = parts;
  return (request, response) => {
    if (request.method !== 'POST' || request.headers['idempotency-key'] !== undefined) return false;
    const saleId = orderRouteSale(request.url ?? '');
    if (saleId === null || !feeds.isSoldOut(saleId) || closing()) return false;
    // Fastify refuses a body over the limit; the early answer must not take one it would refuse.
    if (Number(request.headers['content-length'] ?? 0) > bodyBytesMax) return false;
    const started = performance.now();
    response.writeHead(SOLD_OUT_STATUS, {
      ...SOLD_OUT_HEADERS,
      'x-request-id': requestIdOf(request),
    });
    response.end(SOLD_OUT_BODY);
    counted();
    answered('POST', ORDER_ROUTE, SOLD_OUT_STATUS, performance.now() - started);
    return true;
  };
}

/** The route's label in the metrics, as Fastify names it. */
export const ORDER_ROUTE = '/v1/sales/:saleId/orders';
