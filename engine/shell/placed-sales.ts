import type { Logger } from 'pino';
import type { EngineState } from '../core/types.js';
import { stockOf } from './actor.js';
import type { EngineHealth } from './health.js';
import type { SaleLeases } from './lease.js';
import type { NatsService } from './nats-service.js';
import type { SaleHomes } from './sale-homes.js';
import type { StockPublisher } from './stock-publisher.js';

// Sales the pool placed on this engine's WAL, taken up while the engine serves the others: the
// sale's lease, its home (this WAL), then its subjects. One at a time, in the order they were
// placed, so two placements can't race for the same lease or home.

/** How long a placed sale's lease may stay someone else's before the engine gives up on it. */
const PLACED_LEASE_WAIT_TTLS = 2;

export interface ServingParts {
  readonly leases: SaleLeases;
  readonly homes: SaleHomes;
  readonly service: NatsService;
  readonly stock: StockPublisher;
  readonly state: EngineState;
}

export class PlacedSales {
  /** Every sale this engine serves or is taking up: pinned ones from the start. */
  private readonly served: Set<string>;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    pinned: readonly string[],
    private readonly parts: ServingParts,
    private readonly health: EngineHealth,
    private readonly leaseTtlMs: number,
    private readonly logger: Logger,
  ) {
    this.served = new Set(pinned);
  }

  get count(): number {
    return this.served.size;
  }

  /** Takes the sale up unless it is served here already; returns once it is tried. */
  take(saleId: string): Promise<void> {
    if (this.served.has(saleId)) return this.queue;
    this.served.add(saleId);
    this.queue = this.queue.then(() => this.takeUp(saleId));
    return this.queue;
  }

  private async takeUp(saleId: string): Promise<void> {
    const { leases, homes, service, stock, state } = this.parts;
    const heldHere = (id: string) => state.sales.has(id);
    try {
      await homes.check([saleId], heldHere);
      const wait = AbortSignal.timeout(this.leaseTtlMs * PLACED_LEASE_WAIT_TTLS);
      if (!(await leases.acquire(saleId, wait)))
        throw new Error('another engine holds its lease and keeps it');
      await homes.claim(saleId, heldHere(saleId));
      if (heldHere(saleId)) stock.update(stockOf(state, saleId));
      service.serve(saleId);
      this.health.add(saleId);
      this.logger.info({ saleId }, 'serving a sale the pool placed here');
    } catch (error) {
      this.served.delete(saleId);
      this.logger.error(
        { saleId, err: error },
        `a sale placed here can't be served: ${(error as Error).message}`,
      );
    }
  }
}
