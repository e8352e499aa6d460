import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import t from 'tap';
import { FREE_PORT_MAX, FREE_PORT_MIN, freePort } from '../scripts/stack/free-port.js';

t.test(
  'freePort gives a port below the ephemeral range that a server can then listen on',
  async (t) => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      t.ok(port >= FREE_PORT_MIN && port < FREE_PORT_MAX, `${port} in range`);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    server.close();
  },
);

t.test('freePort passes over a port that is taken', async (t) => {
  // A port of the range this process has not handed out, taken by a server of the test's own.
  const listen = (port: number) =>
    new Promise<Server | null>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(null));
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  let offset = randomInt(FREE_PORT_MAX - FREE_PORT_MIN);
  let server = await listen(FREE_PORT_MIN + offset);
  while (server === null) {
    offset = (offset + 1) % (FREE_PORT_MAX - FREE_PORT_MIN);
    server = await listen(FREE_PORT_MIN + offset);
  }
  t.teardown(() => server.close());
  const taken = FREE_PORT_MIN + offset;
  const next = await freePort(offset);
  t.not(next, taken, 'not the taken port');
  t.ok(next > taken || next < FREE_PORT_MIN + 100, 'the next free one after it (wrapping round)');
});
