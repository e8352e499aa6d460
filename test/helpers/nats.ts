import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EngineProcess, type EngineProcessOptions } from '../../scripts/stack/engine-process.js';
import { NatsServerProcess } from '../../scripts/stack/nats-server.js';

// A private nats-server per test file (free port, temporary store) that the test can kill and
// restart, and a client connection to it. Both go away in teardown.

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function tempDir(t: Teardown, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function startNats(t: Teardown): Promise<NatsServerProcess> {
  const server = await NatsServerProcess.start({ storeDir: join(await tempDir(t, 'nats'), 'js') });
  t.teardown(() => server.stop());
  return server;
}

export async function natsClient(t: Teardown, url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  return nc;
}

export function spawnEngine(t: Teardown, options: EngineProcessOptions): EngineProcess {
  const engine = EngineProcess.spawn(options);
  t.teardown(() => engine.kill());
  return engine;
}

export async function startEngine(
  t: Teardown,
  options: EngineProcessOptions,
): Promise<EngineProcess> {
  const engine = spawnEngine(t, options);
  await engine.serving();
  return engine;
}
