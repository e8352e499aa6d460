import type { Faults } from '../../shipping-agent/fake-carrier/faults.js';
import type { CarrierStats, OutageState } from '../../shipping-agent/fake-carrier/server.js';
import { ServiceProcess } from './service-process.js';

// The fake carrier (dist/shipping-agent/fake-carrier/main.js) as a child process, for tests,
// demos and the dev stack, with typed helpers over its admin routes.

export type { Faults } from '../../shipping-agent/fake-carrier/faults.js';
export type { CarrierStats, OutageState } from '../../shipping-agent/fake-carrier/server.js';

export interface CarrierProcessOptions {
  /** CARRIER_* settings; CARRIER_PORT defaults to 0 (a free port, read back from the log). */
  readonly env?: Readonly<Record<string, string>>;
  readonly ownProcessGroup?: boolean;
}

export class CarrierProcess extends ServiceProcess {
  private portNumber = 0;

  private constructor(options: CarrierProcessOptions) {
    super({
      main: 'shipping-agent/fake-carrier/main.js',
      ownProcessGroup: options.ownProcessGroup ?? false,
      env: { CARRIER_PORT: '0', CARRIER_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...options.env },
    });
  }

  static async start(options: CarrierProcessOptions = {}): Promise<CarrierProcess> {
    const carrier = new CarrierProcess(options);
    try {
      const line = await carrier.waitForLog((l) => l.msg === 'carrier listening');
      carrier.portNumber = Number(line.port);
    } catch (error) {
      await carrier.kill();
      throw error;
    }
    return carrier;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }

  stats(): Promise<CarrierStats> {
    return this.admin('GET', '/admin/shipments');
  }

  /** Changes only the faults given; answers all of them as they now are. */
  setFaults(faults: Partial<Faults>): Promise<Faults> {
    return this.admin('PUT', '/admin/faults', faults);
  }

  startOutage(ms: number): Promise<OutageState> {
    return this.admin('POST', '/admin/outage', { ms });
  }

  endOutage(): Promise<OutageState> {
    return this.admin('DELETE', '/admin/outage');
  }

  /** Forgets every shipment and call count. */
  reset(): Promise<CarrierStats> {
    return this.admin('POST', '/admin/reset');
  }

  private async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`carrier ${method} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  }
}
