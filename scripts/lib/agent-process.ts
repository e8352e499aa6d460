import { ServiceProcess } from './service-process.js';

// A shipping agent (dist/shipping-agent/main.js) as a child process, for tests, chaos and the
// dev stack. Test settings keep its schedules short.

export interface AgentProcessOptions {
  readonly natsUrl: string;
  readonly carrierUrl: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly ownProcessGroup?: boolean;
}

export class AgentProcess extends ServiceProcess {
  static spawn(options: AgentProcessOptions): AgentProcess {
    return new AgentProcess({
      main: 'shipping-agent/main.js',
      ownProcessGroup: options.ownProcessGroup ?? false,
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
    try {
      await agent.pulling();
    } catch (error) {
      await agent.kill();
      throw error;
    }
    return agent;
  }

  pulling(): Promise<unknown> {
    return this.waitForLog((line) => line.msg === 'shipping agent pulling');
  }

  async metricsPort(): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'metrics at GET /metrics');
    return line.port as number;
  }
}
