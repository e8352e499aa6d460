import { type ReadyMessage, ServiceProcess } from './service-process.js';

// The engine (dist/engine/main.js) as a child process for tests, chaos and the dev stack.

export type { LogLine } from './service-process.js';

export interface EngineProcessOptions {
  readonly natsUrl: string;
  readonly walDir: string;
  readonly sales: readonly string[];
  readonly leaseTtlMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** See NatsServerOptions.ownProcessGroup. */
  readonly ownProcessGroup?: boolean;
  /** See SpawnOptions.logFile. */
  readonly logFile?: string;
}

/** `ENGINE_NODE_FLAGS="--cpu-prof"` profiles the engine of a bench or chaos run. */
function nodeFlags(): string[] {
  return process.env.ENGINE_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
}

export class EngineProcess extends ServiceProcess {
  /** Spawns the engine; does not wait for it to serve (see `serving`). */
  static spawn(options: EngineProcessOptions): EngineProcess {
    return new EngineProcess({
      main: 'engine/main.js',
      nodeFlags: nodeFlags(),
      ownProcessGroup: options.ownProcessGroup ?? false,
      ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
      env: {
        NATS_URL: options.natsUrl,
        WAL_DIR: options.walDir,
        ENGINE_SALES: options.sales.join(','),
        LEASE_TTL_MS: String(options.leaseTtlMs ?? 3_000),
        LOG_LEVEL: 'info',
        // Many engines share a machine in tests: each takes a free port, read from its log.
        ENGINE_METRICS_PORT: '0',
        ...options.env,
      },
    });
  }

  static async start(options: EngineProcessOptions): Promise<EngineProcess> {
    const engine = EngineProcess.spawn(options);
    await engine.startedOrKilled(engine.serving());
    return engine;
  }

  /**
   * The port of the engine's `GET /metrics`, once it listens: read from its log (at LOG_LEVEL
   * info), as the engine's ready message comes only once it serves, and a standby has metrics too.
   */
  async metricsPort(): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'metrics at GET /metrics');
    return line.port as number;
  }

  /** Once it serves its sales, whatever its LOG_LEVEL. */
  serving(): Promise<ReadyMessage> {
    return this.ready();
  }
}
