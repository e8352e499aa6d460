import { ServiceProcess } from './service-process.js';

// A gateway (dist/gateway/main.js) as a child process: tests and the dev stack run real ones.

export interface GatewayProcessOptions {
  readonly natsUrl: string;
  readonly jwtSecret: string;
  /** 0 (the default) takes a free port, which the gateway tells once ready. */
  readonly port?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly ownProcessGroup?: boolean;
  /** See SpawnOptions.logFile. */
  readonly logFile?: string;
}

export class GatewayProcess extends ServiceProcess {
  private constructor(
    options: GatewayProcessOptions,
    private portNumber = 0,
  ) {
    super({
      main: 'gateway/main.js',
      ownProcessGroup: options.ownProcessGroup ?? false,
      ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
      env: {
        NATS_URL: options.natsUrl,
        JWT_SECRET: options.jwtSecret,
        PORT: String(options.port ?? 0),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        ...options.env,
      },
    });
  }

  static async start(options: GatewayProcessOptions): Promise<GatewayProcess> {
    const gateway = new GatewayProcess(options);
    gateway.portNumber = Number((await gateway.startedOrKilled(gateway.ready())).port);
    return gateway;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }
}
