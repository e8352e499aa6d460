import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, getGlobalDispatcher } from 'undici';

// JSON over HTTP for the tools that talk to gateways like a client would: the reply's status,
// headers and parsed body (or the raw text when it is not JSON). A network failure or a timeout
// throws; callers decide what that means. undici's `request` rather than `fetch`: on the 2-vCPU
// machine of docs/benchmarks.md, fetch managed ~2,500 small POSTs/s at 500 in flight against a
// bare node:http server, undici's request ~15,000, so fetch would measure the load generator.

/** A reply that has not come after this long is given up (an undici timeout error). */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;

export interface JsonRequest {
  readonly method?: 'GET' | 'POST' | 'PUT';
  /** A bearer token, sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Where the request goes out: undici's global pool unless given (e.g. a client's own Client). */
  readonly dispatcher?: Dispatcher;
  /** Headers and body each given up after this long (HTTP_REQUEST_TIMEOUT_MS by default). */
  readonly timeoutMs?: number;
}

export interface JsonReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export async function requestJson(url: string, options: JsonRequest = {}): Promise<JsonReply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  // The dispatcher's own request(), not undici's top-level request(url): the latter cost the load
  // generators of bench:compare ~10-20 µs more per call here (same pool, same connections).
  const { origin, pathname, search } = new URL(url);
  const response = await (options.dispatcher ?? getGlobalDispatcher()).request({
    origin,
    path: pathname + search,
    method: options.method ?? 'GET',
    headers,
    body,
    headersTimeout: options.timeoutMs ?? HTTP_REQUEST_TIMEOUT_MS,
    bodyTimeout: options.timeoutMs ?? HTTP_REQUEST_TIMEOUT_MS,
  });
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page, say): the caller gets the text.
  }
  return { status: response.statusCode, headers: response.headers, body: parsed };
}

/** A reply's `Retry-After` (whole seconds) in ms, at most `maxMs`; `fallbackMs` when it has none. */
export function retryAfterMs(headers: IncomingHttpHeaders, maxMs: number, fallbackMs = maxMs) {
  const seconds = Number(headers['retry-after']);
  return Number.isFinite(seconds) ? Math.min(maxMs, Math.max(0, seconds * 1_000)) : fallbackMs;
}

/** The `error` code of a catalogue error body, or null when the body is not one. */
export function errorCodeOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const code = (body as { error?: unknown }).error;
  return typeof code === 'string' ? code : null;
}

/** What a thrown network error was: undici's or the system's code, else its name. */
export function networkErrorCode(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'Error';
}
