import { ServiceProcess } from './service-process.js';

// A shipping agent (dist/shipping-agent/main.js) as a child process, for tests, chaos and the
// dev stack. Test settings keep its schedules short.

/** Agent settings for tests and chaos runs: the production shape, with short waits. */
export const FAST_AGENT_ENV: Readonly<Record<string, string>> = {
  SHIPPING_ACK_WAIT_MS: '3000',
  SHIPPING_MAX_DELIVER: '10',
  SHIPPING_BACKOFF_MS: '200,300,500',
  SHIPPING_CONCURRENCY: '64',
  CARRIER_RETRY_BASE_MS: '20',
  CARRIER_HEADERS_TIMEOUT_MS: '4000',
  CARRIER_BODY_TIMEOUT_MS: '4000',
  BREAKER_TIMEOUT_MS: '4500',
  BREAKER_RESET_MS: '500',
  BREAKER_VOLUME_THRESHOLD: '5',
  BREAKER_WINDOW_MS: '2000',
  SHUTDOWN_GRACE_MS: '10000',
};

export interface AgentProcessOptions {
  readonly natsUrl: string;
  readonly carrierUrl: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly ownProcessGroup?: boolean;
  /** See SpawnOptions.logFile. */
  readonly logFile?: string;
}

export class AgentProcess extends ServiceProcess {
  static spawn(options: AgentProcessOptions): AgentProcess {
    return new AgentProcess({
      main: 'shipping-agent/main.js',
      ownProcessGroup: options.ownProcessGroup ?? false,
      ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
      env: {
        NATS_URL: options.natsUrl,
        CARRIER_URL: options.carrierUrl,
        AGENT_METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        ...options.env,
      },
    });
  }

  static async start(options: AgentProcessOptions): Promise<AgentProcess> {
    const agent = AgentProcess.spawn(options);
    await agent.startedOrKilled(agent.ready());
    return agent;
  }

  pulling(): Promise<unknown> {
    return this.waitForLog((line) => line.msg === 'shipping agent pulling');
  }

  /** The port of the agent's `GET /metrics`, once it is ready. */
  async metricsPort(): Promise<number> {
    return Number((await this.ready()).metricsPort);
  }
}
