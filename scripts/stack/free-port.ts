import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

// Ports for the servers that tests and benches start (nats-server, gateways), chosen below the
// kernel's ephemeral range (32768–60999 by default), which outgoing connections draw from. A port
// from that range, free when checked, could be taken by any connect() before the server binds
// it, or while a test has killed the server to restart it on the same port; with two test files
// at a time opening thousands of connections, that is a matter of time. Below the range only
// another such choice can take it: a random start keeps those apart.

export const FREE_PORT_MIN = 20_000;
/** Exclusive; the default ephemeral range starts at 32768. */
export const FREE_PORT_MAX = 32_000;
const ATTEMPTS_MAX = 100;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const SPAN = FREE_PORT_MAX - FREE_PORT_MIN;
/** Handed out by this process already: two calls before either port is bound get two ports. */
const handedOut = new Set<number>();

/**
 * A TCP port free on 127.0.0.1 a moment ago, outside the ephemeral range: the first free one from
 * FREE_PORT_MIN + `first` on (random unless given).
 */
export async function freePort(first = randomInt(SPAN)): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt += 1) {
    const port = FREE_PORT_MIN + ((((first + attempt) % SPAN) + SPAN) % SPAN);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(
    `no free port among ${ATTEMPTS_MAX} tried in ${FREE_PORT_MIN}–${FREE_PORT_MAX - 1}`,
  );
}
