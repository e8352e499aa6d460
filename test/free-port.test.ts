import { createServer } from 'node:net';
import t from 'tap';
import { FREE_PORT_MAX, FREE_PORT_MIN, freePort } from '../scripts/lib/free-port.js';

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
  const taken = await freePort();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(taken, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const next = await freePort(taken - FREE_PORT_MIN);
  t.not(next, taken, 'not the taken port');
  t.ok(next > taken || next < FREE_PORT_MIN + 100, 'the next free one after it (wrapping round)');
});
