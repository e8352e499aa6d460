import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Test } from 'tap';
import WebSocket from 'ws';
import type { ErrorCode } from '../../engine/protocol/index.js';

// What the gateway tests assert again and again: the error body of the catalogue, a Prometheus
// sample, and messages from a live socket, awaited as events.

export type Assert = Pick<Test, 'equal' | 'same' | 'ok'>;

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back, field by field
  readonly body: any;
}

/**
 * An error reply exactly as DESIGN.md has it: the status, `{error, message, ...details}` with a
 * human message and no field other than the given details.
 */
export function expectError(
  t: Assert,
  response: { status: number; body: unknown },
  status: number,
  code: ErrorCode,
  details: Readonly<Record<string, string | number>> = {},
  label: string = code,
): void {
  t.equal(response.status, status, `${label}: HTTP ${status}`);
  const body = (response.body ?? {}) as Record<string, unknown>;
  const { error, message, ...rest } = body;
  t.equal(error, code, `${label}: error ${code} (got ${JSON.stringify(response.body)})`);
  t.ok(typeof message === 'string' && message.length > 0, `${label}: a human message`);
  t.same(rest, details, `${label}: details`);
}

/** `Retry-After` in whole seconds, within the given bounds. */
export function expectRetryAfter(t: Assert, headers: Headers, minS: number, maxS: number): void {
  const seconds = Number(headers.get('retry-after'));
  t.ok(
    Number.isInteger(seconds) && seconds >= minS && seconds <= maxS,
    `Retry-After ${headers.get('retry-after')} is ${minS}-${maxS} s`,
  );
}

export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`);
  return response.text();
}

/** The sum of a metric's samples whose labels include `labels` (0 when there is none). */
export function metricValue(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value))
      sum += Number(match[3]);
  }
  return sum;
}

/** A client of a live route that keeps every message, so none is missed between two awaits. */
export class LiveClient {
  // biome-ignore lint/suspicious/noExplicitAny: messages are JSON read field by field
  readonly messages: any[] = [];
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)));
      for (const wake of this.waiters) wake();
    });
    this.closed = once(socket, 'close').then(([code, reason]) => ({
      code: code as number,
      reason: String(reason),
    }));
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<LiveClient> {
    const client = new LiveClient(new WebSocket(url, { headers }));
    await once(client.socket, 'open');
    return client;
  }

  /** The first message (kept or still to come) that matches; fails if the socket closes first. */
  // biome-ignore lint/suspicious/noExplicitAny: see messages
  async next(match: (message: any) => boolean): Promise<any> {
    for (;;) {
      const found = this.messages.find(match);
      if (found !== undefined) return found;
      if (this.socket.readyState !== WebSocket.OPEN)
        throw new Error(`socket closed; messages: ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          this.socket.off('close', wake);
          resolve();
        };
        this.waiters.add(wake);
        this.socket.once('close', wake);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** A WebSocket upgrade the gateway refuses: its HTTP status and JSON body. */
export async function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const socket = new WebSocket(url, { headers });
  // Aborting the refused handshake below makes ws report an error: expected, not a failure.
  socket.on('error', () => undefined);
  const outcome = await Promise.race([
    once(socket, 'unexpected-response').then(([, response]) => ({ response })),
    once(socket, 'open').then(() => ({ response: null })),
  ]);
  if (outcome.response === null) {
    socket.close();
    throw new Error(`the upgrade to ${url} was accepted`);
  }
  const response = outcome.response as IncomingMessage;
  let text = '';
  for await (const chunk of response) text += String(chunk);
  socket.terminate();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.statusCode ?? 0, body };
}
