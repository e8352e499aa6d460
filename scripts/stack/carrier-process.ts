import type { Faults } from '../../fake-carrier/faults.js';
import type { CarrierStats, OutageState } from '../../fake-carrier/server.js';
import { ServiceProcess } from './service-process.js';

// The fake carrier (dist/fake-carrier/main.js) as a child process, for tests,
// demos and the dev stack, with typed helpers over its admin routes.

export type { Faults } from '../../fake-carrier/faults.js';
export type { CarrierStats, OutageState } from '../../fake-carrier/server.js';

export interface CarrierProcessOptions {
  /** CARRIER_* settings; CARRIER_PORT defaults to 0 (a free port, which the carrier tells once ready). */
  readonly env?: Readonly<Record<string, string>>;
  readonly ownProcessGroup?: boolean;
  /** See SpawnOptions.logFile. */
  readonly logFile?: string;
}

export class CarrierProcess extends ServiceProcess {
  private portNumber = 0;

  private constructor(options: CarrierProcessOptions) {
    super({
      main: 'fake-carrier/main.js',
      ownProcessGroup: options.ownProcessGroup ?? false,
      ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
      env: { CARRIER_PORT: '0', CARRIER_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...options.env },
    });
  }

  static async start(options: CarrierProcessOptions = {}): Promise<CarrierProcess> {
    const carrier = new CarrierProcess(options);
    carrier.portNumber = Number((await carrier.startedOrKilled(carrier.ready())).port);
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
