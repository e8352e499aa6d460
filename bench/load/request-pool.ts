import type { TokenPool } from '../../scripts/client/token-pool.js';
import type { Endpoint } from './load-connection.js';

// The requests of a load, as bytes built before the clock starts: request i is an order of one
// unit from customer i of a TokenPool, with that customer's own signed token, so a run sends every
// customer's token once until the pool is used up. Built into one buffer, request i a view of
// it made when it is sent: nothing in the timed loop formats, encodes or copies a request.

const ORDER_BODY = JSON.stringify({ quantity: 1 });
/** Offsets are kept in a Uint32Array. */
const POOL_BYTES_MAX = 2 ** 32 - 1;

export interface RequestPool {
  /** How many distinct requests there are; a run that sends more starts over (`repeats`). */
  readonly size: number;
  /** The bytes of request `index`, `index` from 0 (past `size`, request `index % size`). */
  request(index: number): Buffer;
}

export interface OrderRequestOptions {
  readonly endpoint: Endpoint;
  readonly saleId: string;
  readonly customers: TokenPool;
  /** When set, request i carries `Idempotency-Key: <prefix><i>`, as a careful client sends. */
  readonly idempotencyKeyPrefix?: string;
}

/** `POST /v1/sales/:saleId/orders {"quantity":1}`, one per customer of the pool. */
export function orderRequests(options: OrderRequestOptions): RequestPool {
  const { endpoint, saleId, customers, idempotencyKeyPrefix } = options;
  const head =
    `POST /v1/sales/${encodeURIComponent(saleId)}/orders HTTP/1.1\r\n` +
    `host: ${endpoint.host}:${endpoint.port}\r\n` +
    'content-type: application/json\r\n' +
    `content-length: ${Buffer.byteLength(ORDER_BODY)}\r\n` +
    'authorization: Bearer ';
  const tail = `\r\n\r\n${ORDER_BODY}`;
  const key =
    idempotencyKeyPrefix === undefined ? null : `\r\nidempotency-key: ${idempotencyKeyPrefix}`;
  // Pieces rather than whole texts: a pool of 250k requests is ~100 MB, and would be twice that
  // while its strings and its buffer both lived.
  return packed(customers.size, (i) =>
    key === null
      ? [head, customers.token(i), tail]
      : [head, customers.token(i), key, String(i), tail],
  );
}

/** A request that any of our servers answers at once, whatever its status: opens a connection. */
export function primerRequest(endpoint: Endpoint): Buffer {
  return Buffer.from(
    `GET /health/live HTTP/1.1\r\nhost: ${endpoint.host}:${endpoint.port}\r\n\r\n`,
    'latin1',
  );
}

/** Request i is the concatenation of `piecesOf(i)`, all in one buffer (HTTP heads are ASCII). */
function packed(size: number, piecesOf: (i: number) => readonly string[]): RequestPool {
  const offsets = new Uint32Array(size + 1);
  let total = 0;
  for (let i = 0; i < size; i += 1) {
    offsets[i] = total;
    for (const piece of piecesOf(i)) total += piece.length;
    if (total > POOL_BYTES_MAX) throw new Error(`requests over ${POOL_BYTES_MAX} bytes`);
  }
  offsets[size] = total;
  const bytes = Buffer.allocUnsafe(total);
  for (let i = 0; i < size; i += 1) {
    let at = offsets[i]!;
    for (const piece of piecesOf(i)) at += bytes.write(piece, at, 'latin1');
  }
  return {
    size,
    request: (index) => {
      const i = index % size;
      return bytes.subarray(offsets[i]!, offsets[i + 1]!);
    },
  };
}
