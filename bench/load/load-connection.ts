import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ProtocolError, ResponseReader } from './response-reader.js';

// One keep-alive connection of the load generator, one request at a time (no pipelining, as a
// browser sends). A request is prebuilt bytes, written in one call; its reply is read by
// ResponseReader and reported with its latency. A connection the server closed (or that failed)
// is opened again by the next request, whose latency then includes the new connection, as a
// client's would.

/** What became of one request: its reply's status, or why there was none. */
export type Outcome =
  | { readonly status: number; readonly body: Buffer }
  | { readonly status: 0; readonly error: string };

/** Called once per request sent; `body` is valid only during the call (copy it to keep it). */
export type OutcomeListener = (outcome: Outcome, latencyMs: number) => void;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export function endpointOf(url: string): Endpoint {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') throw new Error(`the load generator speaks http only: ${url}`);
  return { host: parsed.hostname, port: Number(parsed.port || 80) };
}

export class LoadConnection {
  private socket: Socket | null = null;
  private listener: OutcomeListener | null = null;
  private sentAt = 0;

  constructor(private readonly endpoint: Endpoint) {}

  /** Whether a request is waiting for its reply. */
  get busy(): boolean {
    return this.listener !== null;
  }

  /** Sends one request; `done` hears of it exactly once. */
  send(request: Buffer, done: OutcomeListener): void {
    if (this.listener !== null) throw new Error('one request at a time on a load connection');
    this.listener = done;
    this.sentAt = performance.now();
    // Writes made before the connection is up are queued by the socket and sent once it is.
    (this.socket ?? this.open()).write(request);
  }

  /** Closes the connection; a request still waiting fails. */
  close(reason = 'closed by the load generator'): void {
    this.fail(reason);
  }

  private open(): Socket {
    const socket = connect({ host: this.endpoint.host, port: this.endpoint.port, noDelay: true });
    this.socket = socket;
    // A reader per socket: what is left of a dropped socket's bytes can't reach the next one.
    const reader = new ResponseReader((status, body, closeAfter) => {
      if (this.socket !== socket) return;
      // Dropped first: the listener may send its next request at once, on a new socket.
      if (closeAfter) this.drop();
      this.settle({ status, body });
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      try {
        reader.feed(chunk);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.fail(`unreadable reply: ${error.message}`);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (this.socket === socket) this.fail(error.code ?? error.message);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.fail('connection closed before the reply');
    });
    return socket;
  }

  private settle(outcome: Outcome): void {
    const listener = this.listener;
    if (listener === null) {
      this.fail('a reply to no request');
      return;
    }
    this.listener = null;
    listener(outcome, performance.now() - this.sentAt);
  }

  /** Ends the connection and reports the request in flight, if any, as failed. */
  private fail(reason: string): void {
    this.drop();
    if (this.listener !== null) this.settle({ status: 0, error: reason });
  }

  /** Forgets the socket; the next request opens a new one. */
  private drop(): void {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.destroy();
  }
}
