// What the engine is doing, for its health answer (`GET /health` on the metrics port) and its
// metrics: an engine standing by for a lease another engine holds is alive but serves nothing,
// and says so instead of "healthy". Per sale, so that an engine of a pool, serving some sales
// and standing by for others, can tell which is which.

/** Where the engine is in its life; `serving` once its sales are routed to it. */
export type EnginePhase = 'starting' | 'standby' | 'recovering' | 'serving' | 'stopping';

/** The answer's state: a phase, or `degraded` while serving with a lapsed lease. */
export type EngineState = EnginePhase | 'degraded';

export interface HealthReport {
  readonly state: EngineState;
  /** Sales whose commands this engine answers now. */
  readonly serving: readonly string[];
  /** Sales it waits to take over (another engine holds their lease). */
  readonly standby: readonly string[];
  /** Sales it served whose lease it could not renew: refused until it is renewed. */
  readonly lapsed: readonly string[];
}

export const ENGINE_PHASES: readonly EnginePhase[] = [
  'starting',
  'standby',
  'recovering',
  'serving',
  'stopping',
];

export class EngineHealth {
  private current: EnginePhase = 'starting';
  private leaseValid: (saleId: string) => boolean = () => false;
  private readonly sales: string[];

  constructor(sales: readonly string[]) {
    this.sales = [...sales];
  }

  /** A sale placed here while serving: from now on it is one of the engine's. */
  add(saleId: string): void {
    if (!this.sales.includes(saleId)) this.sales.push(saleId);
  }

  /** A sale handed over to another engine (a cluster's failover): no longer one of ours. */
  remove(saleId: string): void {
    const index = this.sales.indexOf(saleId);
    if (index >= 0) this.sales.splice(index, 1);
  }

  get phase(): EnginePhase {
    return this.current;
  }

  enter(phase: EnginePhase): void {
    this.current = phase;
  }

  /** From now on, a sale is served while its lease is valid. */
  serve(leaseValid: (saleId: string) => boolean): void {
    this.leaseValid = leaseValid;
    this.current = 'serving';
  }

  report(): HealthReport {
    const none: readonly string[] = [];
    if (this.current !== 'serving')
      return {
        state: this.current,
        serving: none,
        standby: this.current === 'standby' ? [...this.sales] : none,
        lapsed: none,
      };
    const serving = this.sales.filter((saleId) => this.leaseValid(saleId));
    const lapsed = this.sales.filter((saleId) => !this.leaseValid(saleId));
    return { state: lapsed.length > 0 ? 'degraded' : 'serving', serving, standby: none, lapsed };
  }

  /** Healthy is serving every sale it was given; anything else is a distinct, named state. */
  isHealthy(): boolean {
    return this.report().state === 'serving';
  }
}
