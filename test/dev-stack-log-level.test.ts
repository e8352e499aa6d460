import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { mintToken } from '../scripts/client/tokens.js';
import { OUTLIVE_MS_MAX, privateEnv, READY_LINE, runDevStack } from './helpers/dev-stack.js';

// `npm start` at a LOG_LEVEL that silences the services' "listening" lines still comes up and
// serves orders: readiness comes over IPC, not from the logs. Each run is stopped as a terminal
// stops it, and is gone within the 5 s promised.

/** A client's patience with 503s: the gateway says how long to wait (Retry-After). */
const ORDER_TRIES_MAX = 10;

for (const [level, signal] of [
  ['warn', 'SIGINT'],
  ['error', 'SIGHUP'],
] as const) {
  t.test(
    `LOG_LEVEL=${level}: it comes up, takes an order, and ${signal} stops it all`,
    async (t) => {
      const env = await privateEnv(t);
      const stack = await runDevStack(t, { ...env, LOG_LEVEL: level });
      await stack.waitFor(READY_LINE);
      t.match(
        stack.output(),
        `(LOG_LEVEL=${level})`,
        'it says at which level, and where the logs are',
      );

      const token = mintToken(JWT_SECRET_DEVELOPMENT, { sub: `customer-${level}` });
      // As a client does: a 503 (a gateway shedding load on a busy machine) is tried again with
      // the same Idempotency-Key.
      const order = () =>
        fetch(`http://127.0.0.1:${env.PORT}/v1/sales/demo/orders`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': `log-level-${level}`,
          },
          body: JSON.stringify({ quantity: 1 }),
        });
      let response = await order();
      for (let tries = 1; response.status === 503 && tries < ORDER_TRIES_MAX; tries += 1) {
        await delay(Number(response.headers.get('retry-after') ?? 1) * 1_000);
        response = await order();
      }
      t.equal(response.status, 201, 'an order is accepted', { body: await response.text() });

      stack.child.kill(signal);
      t.same(await stack.survivorsAfter(OUTLIVE_MS_MAX), [], 'no process of the stack is left');
      t.equal((await stack.closed).code, 0, 'and it exits 0', { output: stack.output() });
    },
  );
}
