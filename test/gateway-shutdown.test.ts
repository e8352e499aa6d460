import { once } from 'node:events';
import t from 'tap';
import WebSocket from 'ws';
import { EngineClient } from '../scripts/client/engine-client.js';
import { createSale, http, startGateway, startStack } from './helpers/stack.js';

// SIGTERM to a gateway under load: it stops taking requests, finishes those in flight (every
// order the engine accepted got its 201), closes its sockets with 1001 and exits 0.

const REQUESTS = 400;
const CLOSE_GOING_AWAY = 1001;

t.test(
  'a gateway stops gracefully: in-flight orders answered, sockets closed, exit 0',
  async (t) => {
    const stack = await startStack(t, { sales: ['bye'], gatewayEnv: { RATE_LIMIT_MAX: '100000' } });
    await createSale(stack, 'bye', { stock: 1_000_000, perCustomerLimit: 1_000_000 });
    const gateway = await startGateway(t, stack.nats.url, { RATE_LIMIT_MAX: '100000' });
    const socket = new WebSocket(`ws://127.0.0.1:${gateway.port}/v1/sales/bye/live`);
    await once(socket, 'message');
    const socketClosed = once(socket, 'close');

    const token = stack.token('leaver');
    let firstAnswer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => {
      firstAnswer = resolve;
    });
    const outcomes = Promise.all(
      Array.from({ length: REQUESTS }, () =>
        http(`${gateway.url}/v1/sales/bye/orders`, {
          method: 'POST',
          token,
          body: { quantity: 1 },
        }).then(
          (reply) => {
            firstAnswer();
            return reply.status;
          },
          () => 'refused' as const, // never reached the gateway, or reached it as it closed
        ),
      ),
    );
    await answered;
    await gateway.kill('SIGTERM');
    const statuses = await outcomes;

    t.same(await gateway.exited, { code: 0, signal: null }, 'exit code 0');
    const [code] = await socketClosed;
    t.equal(code, CLOSE_GOING_AWAY, 'the live socket was closed with 1001');
    const created = statuses.filter((s) => s === 201).length;
    t.ok(created > 0, `${created} orders were answered 201 before it stopped`);
    t.ok(
      statuses.every((s) => s === 201 || s === 503 || s === 'refused'),
      `the rest were refused cleanly (503 or connection refused): ${[...new Set(statuses)].join(', ')}`,
    );
    const customer = await new EngineClient(stack.nc).customer('bye', 'leaver');
    t.equal(
      customer.purchased,
      created,
      `every order the engine accepted got its 201 (${customer.purchased} accepted)`,
    );
  },
);
