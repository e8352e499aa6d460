import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { PROJECT_ROOT } from '../scripts/stack/service-process.js';
import { OUTLIVE_MS_MAX } from './helpers/process-mark.js';

// The fake carrier stops on SIGTERM whatever its stdout is. With a pipe whose reader is gone (the
// process that started it was killed), its last log lines fail to be written, and pino's flush on
// exit retried them for ever: the carrier ignored SIGTERM and ran on, holding its port.

const CARRIER_MAIN = join(PROJECT_ROOT, 'dist/fake-carrier/main.js');

t.test('SIGTERM with nobody reading its stdout: the carrier is gone within 5 s', async (t) => {
  // No IPC channel: a carrier started from a shell pipeline, or by a parent that is gone.
  const carrier = spawn(process.execPath, [CARRIER_MAIN], {
    env: { ...process.env, CARRIER_PORT: '0', CARRIER_HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => carrier.kill('SIGKILL'));
  const exited = once(carrier, 'exit');
  for await (const line of createInterface({ input: carrier.stdout })) {
    if (line.includes('carrier listening')) break;
  }
  carrier.stdout.destroy();
  carrier.stderr.destroy();

  carrier.kill('SIGTERM');
  const gone = await Promise.race([exited.then(() => true), delay(OUTLIVE_MS_MAX, false)]);
  t.ok(gone, 'it has exited');
});
