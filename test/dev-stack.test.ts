import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Kvm } from '@nats-io/kv';
import t from 'tap';
import { LEASE_BUCKET } from '../engine/protocol/subjects.js';
import { privateEnv, READY_LINE, runDevStack } from './helpers/dev-stack.js';
import { natsClient, startNats, type Teardown } from './helpers/nats.js';

// `npm start` as a real process on private ports, with its own nats-server: however it ends — a
// port already taken, Ctrl-C mid-start, a child dying, a refused engine — it leaves none of the
// processes it started behind. (dev-stack-kill: however it is killed; dev-stack-log-level: any
// LOG_LEVEL.)

async function occupy(t: Teardown, port: number): Promise<Server> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

t.test('a gateway port already taken: it fails, saying so, and stops all it started', async (t) => {
  const env = await privateEnv(t);
  await occupy(t, Number(env.PORT));
  const stack = await runDevStack(t, env);
  const { code } = await stack.closed;
  const output = stack.output();
  t.equal(code, 1, 'exits 1', { output });
  t.match(output, /engine serving demo/, 'the engine (and NATS) had started');
  t.match(output, `gateway 1 cannot listen on 127.0.0.1:${env.PORT}, which is in use: set PORT`);
  t.same(stack.survivors(), [], 'none of its processes is left');
});

t.test('Ctrl-C during the start stops what has started, then exits 0', async (t) => {
  const stack = await runDevStack(t, await privateEnv(t));
  await stack.waitFor(/engine serving demo/);
  stack.child.kill('SIGINT');
  const { code } = await stack.closed;
  t.equal(code, 0, 'exits 0', { output: stack.output() });
  t.match(stack.output(), /stopped/);
  t.same(stack.survivors(), [], 'none of its processes is left');
});

t.test('the engine dying while the stack runs stops the rest', async (t) => {
  const stack = await runDevStack(t, await privateEnv(t));
  const output = await stack.waitFor(READY_LINE);
  const enginePid = Number(/engine serving demo \(pid (\d+)/.exec(output)![1]);
  process.kill(enginePid, 'SIGKILL');
  const { code } = await stack.closed;
  t.equal(code, 1, 'exits 1', { output: stack.output() });
  t.match(stack.output(), /engine exited unexpectedly \(SIGKILL\): stopping the rest/);
  t.same(stack.survivors(), [], 'none of its processes is left');
});

t.test('no nats-server to start: one clear line, not a stack trace', async (t) => {
  const stack = await runDevStack(t, {
    ...(await privateEnv(t)),
    NATS_SERVER_BIN: '/nonexistent/nats-server',
  });
  const { code } = await stack.closed;
  const output = stack.output();
  t.equal(code, 1, 'exits 1', { output });
  t.match(output, /no NATS answers at nats:\/\/\S+ and there is no `\/nonexistent\/nats-server`/);
  t.match(output, /apt-get install -y nats-server/);
  t.notMatch(output, /^\s+at /m, 'no stack trace');
});

t.test('a lease bucket with another TTL: a hint, and LEASE_TTL_MS is passed on', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  // As an engine with LEASE_TTL_MS=10000 (the engine's default) leaves it on a shared NATS.
  await new Kvm(nc).create(LEASE_BUCKET, { ttl: 10_000, history: 1 });
  const env = { ...(await privateEnv(t)), NATS_URL: nats.url };

  const refused = await runDevStack(t, env);
  const { code } = await refused.closed;
  t.equal(code, 1, 'the dev default (3000 ms) is refused', { output: refused.output() });
  t.match(refused.output(), /run `LEASE_TTL_MS=10000 npm start`/);
  t.same(refused.survivors(), [], 'none of its processes is left');

  const agreeing = await runDevStack(t, { ...env, LEASE_TTL_MS: '10000' });
  await agreeing.waitFor(READY_LINE);
  agreeing.child.kill('SIGTERM');
  t.equal((await agreeing.closed).code, 0, 'serves with the bucket’s TTL, stops on SIGTERM');
  t.same(agreeing.survivors(), [], 'none of its processes is left');
});

t.test('a sale created through the API takes orders at once, nothing restarted', async (t) => {
  const env = await privateEnv(t);
  const stack = await runDevStack(t, env);
  const output = await stack.waitFor(READY_LINE);
  const adminToken = /admin token:\n\s+(\S+)/.exec(output)?.[1];
  const customerToken = /demo customer token:\n\s+(\S+)/.exec(output)?.[1];
  t.ok(adminToken !== undefined && customerToken !== undefined, 'tokens printed');
  const base = `http://127.0.0.1:${env.PORT}`;
  const created = await fetch(`${base}/v1/admin/sales/launch`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Launch', stock: 10, perCustomerLimit: 2 }),
  });
  t.equal(created.status, 201, 'created');
  const ordered = await fetch(`${base}/v1/sales/launch/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${customerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ quantity: 1 }),
  });
  t.equal(ordered.status, 201, 'the first order right after the 201 is accepted');
  const unknown = await fetch(`${base}/v1/sales/nope`);
  t.equal(unknown.status, 404, 'a sale never created is SALE_NOT_FOUND');
  // Shipping waits for the buyers on one machine: the agent and the carrier run SCHED_IDLE.
  for (const [who, pattern] of [
    ['shipping agent', /shipping agent pulling \(pid (\d+)/],
    ['fake carrier', /fake carrier: \S+ \(pid (\d+)/],
  ] as const) {
    const pid = pattern.exec(output)?.[1];
    const policy = execFileSync('chrt', ['--pid', String(pid)]).toString();
    t.match(policy, /SCHED_IDLE/, `${who} (pid ${pid}) runs SCHED_IDLE`);
  }
  stack.child.kill('SIGINT');
  await stack.closed;
  t.same(stack.survivors(), [], 'none of its processes is left');
});
