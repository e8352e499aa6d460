import { randomUUID } from 'node:crypto';
import { Client, type Dispatcher } from 'undici';
import { networkErrorCode } from '../../scripts/lib/http-json.js';
import { classifyReply, type PlacementOutcome } from '../../scripts/lib/order-placement.js';
import { runForDuration } from './closed-loop.js';

// One client of the steady load: a customer with a connection of its own (as a browser keeps one),
// ordering 1 unit at a time. On two cores every µs the generator spends is taken from the system
// it measures, so the timed loop does the least a client must: its request is built from parts
// made once (only the Idempotency-Key is new), it goes through undici's `dispatch` (no promise,
// stream or header object per reply, as `request` makes) and the reply's body is kept as bytes;
// it is parsed and sorted after the run (`outcomeOf`), off the clock. In three alternating runs
// against the client this replaced (undici `request`, reply parsed in the loop) the generator's CPU
// per order fell by a third for both systems (docs/benchmarks.md, bench:compare).

/** What the loop keeps of a reply: its status and bytes, or the network error it ended with. */
export type RawReply =
  | { readonly status: number; readonly body: Buffer }
  | { readonly error: string };

/** The sorted outcome of a kept reply (JSON parsed here, after the timed loop). */
export function outcomeOf(reply: RawReply): PlacementOutcome {
  if ('error' in reply) return { kind: 'failed', reason: reply.error };
  let body: unknown;
  try {
    body = JSON.parse(reply.body.toString('utf8'));
  } catch {
    body = null;
  }
  return classifyReply(reply.status, body);
}

const ORDER_BODY = Buffer.from(JSON.stringify({ quantity: 1 }));

export class SteadyClient {
  private readonly connection: Client;
  private readonly path: string;
  private readonly authorization: string;

  constructor(origin: string, saleId: string, token: string) {
    this.connection = new Client(origin, { pipelining: 1 });
    this.path = `/v1/sales/${encodeURIComponent(saleId)}/orders`;
    this.authorization = `Bearer ${token}`;
  }

  order(): Promise<RawReply> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let status = 0;
      const handler: Dispatcher.DispatchHandlers = {
        onConnect: () => {},
        onHeaders: (statusCode) => {
          status = statusCode;
          return true;
        },
        onData: (chunk) => {
          chunks.push(chunk);
          return true;
        },
        onComplete: () => resolve({ status, body: Buffer.concat(chunks) }),
        onError: (error) => resolve({ error: networkErrorCode(error) }),
      };
      this.connection.dispatch(
        {
          path: this.path,
          method: 'POST',
          headers: [
            'authorization',
            this.authorization,
            'content-type',
            'application/json',
            'idempotency-key',
            randomUUID(),
          ],
          body: ORDER_BODY,
        },
        handler,
      );
    });
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/**
 * `clients` steady clients, client i ordering with `tokenOf(i)`, in a closed loop: `warmUpMs`
 * unmeasured, then `measureMs` measured (closed-loop.ts). Their connections are closed after.
 */
export async function runSteadyClients(
  origin: string,
  saleId: string,
  tokenOf: (client: number) => string,
  timing: { readonly clients: number; readonly warmUpMs: number; readonly measureMs: number },
) {
  const clients = Array.from(
    { length: timing.clients },
    (_, client) => new SteadyClient(origin, saleId, tokenOf(client)),
  );
  try {
    return await runForDuration(timing.clients, timing.warmUpMs, timing.measureMs, (client) =>
      clients[client]!.order(),
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}
