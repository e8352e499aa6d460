import { ServiceProcess } from './service-process.js';

// A gateway (dist/gateway/main.js) as a child process: tests and the dev stack run real ones.

export interface GatewayProcessOptions {
  readonly natsUrl: string;
  readonly jwtSecret: string;
  /** 0 (the default) takes a free port, read back from the log. */
  readonly port?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly ownProcessGroup?: boolean;
}

export class GatewayProcess extends ServiceProcess {
  private constructor(
    options: GatewayProcessOptions,
    private portNumber = 0,
  ) {
    super({
      main: 'gateway/main.js',
      ownProcessGroup: options.ownProcessGroup ?? false,
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
    try {
      const line = await gateway.waitForLog((l) => l.msg === 'gateway listening');
      gateway.portNumber = Number(line.port);
    } catch (error) {
      await gateway.kill();
      throw error;
    }
    return gateway;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }
}
