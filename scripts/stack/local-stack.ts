import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineProcess } from './engine-process.js';
import { NatsServerProcess } from './nats-server.js';
import { type QuietGateway, startQuietGateway } from './quiet-gateway.js';
import type { ServiceProcess } from './service-process.js';

// A throwaway stack for tools and benches on a fresh machine: a private `nats-server -js` on a
// free port, one engine serving the given sales and N gateways, all as child processes over a
// temporary directory (NATS store, WAL) that `stop` removes. The gateways log warnings only: at
// their default level they write two lines per request, which the tool running the load would
// have to read and parse on its own event loop (see quiet-gateway.ts).

export interface LocalStackOptions {
  readonly sales: readonly string[];
  readonly gateways: number;
  readonly jwtSecret: string;
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  readonly engineEnv?: Readonly<Record<string, string>>;
}

export interface LocalStack {
  readonly natsUrl: string;
  readonly natsPid: number | undefined;
  readonly gatewayUrls: readonly string[];
  readonly engine: EngineProcess;
  readonly gateways: readonly ServiceProcess[];
  /** Stops the gateways, then the engine, then NATS, and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dir = await mkdtemp(join(tmpdir(), 'flash-sale-stack-'));
  let nats: NatsServerProcess | null = null;
  let engine: EngineProcess | null = null;
  const gateways: QuietGateway[] = [];
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all(gateways.map((gateway) => gateway.process.kill('SIGTERM')));
      await engine?.kill('SIGTERM');
      await nats?.stop();
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    nats = await NatsServerProcess.start({ storeDir: join(dir, 'nats') });
    engine = await EngineProcess.start({
      natsUrl: nats.url,
      walDir: join(dir, 'wal'),
      sales: options.sales,
      env: { ...options.engineEnv },
    });
    const gatewayOptions = {
      natsUrl: nats.url,
      jwtSecret: options.jwtSecret,
      env: { ...options.gatewayEnv },
    };
    for (let i = 0; i < options.gateways; i += 1)
      gateways.push(await startQuietGateway(gatewayOptions));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    natsUrl: nats.url,
    natsPid: nats.pid,
    gatewayUrls: gateways.map((gateway) => gateway.url),
    engine,
    gateways: gateways.map((gateway) => gateway.process),
    stop,
  };
}
