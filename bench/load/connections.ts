import { type Endpoint, endpointOf, LoadConnection } from './load-connection.js';
import { primerRequest } from './request-pool.js';

// A load's connections, opened and answered once before its clock starts: a run measures the
// server on established keep-alive connections. (The opening storm of connections, where the
// first reply on each can take seconds, is `npm run burst`'s subject.)

/**
 * Opened this many at a time: well within a listen backlog of 511 (Node's default), so no SYN
 * is dropped and retried a second later.
 */
const CONNECT_WAVE = 200;
/** A server that has not answered every primer by then is not fit to be measured. */
const OPEN_WAIT_MS_MAX = 30_000;

export async function openConnections(
  endpoint: Endpoint,
  count: number,
): Promise<LoadConnection[]> {
  // With none, a loop would never send and never end.
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`${count} connections`);
  const connections = Array.from({ length: count }, () => new LoadConnection(endpoint));
  const primer = primerRequest(endpoint);
  const deadline = setTimeout(() => {
    for (const connection of connections) connection.close('no answer to the first request');
  }, OPEN_WAIT_MS_MAX);
  try {
    for (let first = 0; first < count; first += CONNECT_WAVE)
      await Promise.all(
        connections.slice(first, first + CONNECT_WAVE).map((c) => primed(c, primer)),
      );
    return connections;
  } catch (error) {
    for (const connection of connections) connection.close();
    throw error;
  } finally {
    clearTimeout(deadline);
  }
}

/** Opens `count` connections to `url`, runs `use` on them, and closes them whatever happens. */
export async function withConnections<T>(
  url: string,
  count: number,
  use: (connections: readonly LoadConnection[]) => Promise<T>,
): Promise<T> {
  const connections = await openConnections(endpointOf(url), count);
  try {
    return await use(connections);
  } finally {
    for (const connection of connections) connection.close();
  }
}

function primed(connection: LoadConnection, primer: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    connection.send(primer, (outcome) =>
      'body' in outcome ? resolve() : reject(new Error(`opening a connection: ${outcome.error}`)),
    ),
  );
}
