import { ServiceProcess } from '../../scripts/stack/service-process.js';

// The conventional server (dist/bench/conventional/main.js) as a child process, for bench:compare
// and its test: started on a free port, ready once it logs where it listens.

export interface ConventionalProcessOptions {
  readonly jwtSecret: string;
  /** The run's own database (see scratch-database.ts). */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** The run's own Redis key prefix. */
  readonly redisKeyPrefix: string;
  readonly env?: Readonly<Record<string, string>>;
}

export class ConventionalProcess extends ServiceProcess {
  private portNumber = 0;

  static async start(options: ConventionalProcessOptions): Promise<ConventionalProcess> {
    const server = new ConventionalProcess({
      main: 'bench/conventional/main.js',
      env: {
        JWT_SECRET: options.jwtSecret,
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        REDIS_KEY_PREFIX: options.redisKeyPrefix,
        PORT: '0',
        HOST: '127.0.0.1',
        ...options.env,
      },
    });
    const line = await server.startedOrKilled(
      server.waitForLog((l) => l.msg === 'conventional listening'),
    );
    server.portNumber = Number(line.port);
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }
}
