import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { spawnFixture, watchChild } from './fixtures/wal-kit.js';
import { startNats } from './helpers/nats.js';

// A service started over an IPC channel stops when the process that started it dies without any
// teardown (a test runner's timeout, kill -9): orphans would hold ports, locks and CPU for ever.

/** The service's own graceful stop comes well within this (service-kit/parent-watch.ts). */
const GONE_WAIT_MS_MAX = 30_000;
const POLL_INTERVAL_MS = 100;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('a gateway stops when the process that started it is SIGKILLed', async (t) => {
  const nats = await startNats(t);
  const parent = spawnFixture('gateway-parent.ts', [nats.url]);
  let gatewayPid = 0;
  const started = new Promise<void>((resolve) => {
    watchChild(parent, (line) => {
      const match = /^gateway (\d+)$/.exec(line);
      if (match !== null) {
        gatewayPid = Number(match[1]);
        resolve();
      }
    });
  });
  t.teardown(() => {
    if (gatewayPid > 0 && alive(gatewayPid)) process.kill(gatewayPid, 'SIGKILL');
  });
  await started;
  t.ok(alive(gatewayPid), 'the gateway runs');
  parent.kill('SIGKILL');
  // Not our child: its end can only be polled.
  const deadline = Date.now() + GONE_WAIT_MS_MAX;
  while (alive(gatewayPid) && Date.now() < deadline) await delay(POLL_INTERVAL_MS);
  t.notOk(alive(gatewayPid), 'and stops by itself once its parent is gone');
});
