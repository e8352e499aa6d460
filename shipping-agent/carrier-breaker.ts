import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import type { ConfirmedOrderMessage } from '../engine/protocol/index.js';
import type { CarrierClient, Shipment } from './carrier-client.js';
import type { AgentConfig } from './config.js';

// The carrier behind an opossum circuit breaker: when most recent calls fail, stop calling for a
// while (the carrier is down; hammering it helps nobody), then let one call through to test it.
// Deliveries that meet an open breaker are put back with the breaker's remaining time.

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export class CarrierBreaker {
  private readonly breaker: CircuitBreaker<[ConfirmedOrderMessage], Shipment>;
  private openedAt = 0;

  constructor(
    carrier: CarrierClient,
    private readonly settings: AgentConfig['breaker'],
    logger: Logger,
  ) {
    this.breaker = new CircuitBreaker(
      (order: ConfirmedOrderMessage) => carrier.requestShipment(order),
      {
        timeout: settings.timeoutMs,
        errorThresholdPercentage: settings.errorPercent,
        volumeThreshold: settings.volumeThreshold,
        resetTimeout: settings.resetMs,
        rollingCountTimeout: settings.windowMs,
        name: 'carrier',
      },
    );
    this.breaker.on('open', () => {
      this.openedAt = Date.now();
      logger.warn({ resetMs: settings.resetMs }, 'carrier breaker open: pausing carrier calls');
    });
    this.breaker.on('halfOpen', () => logger.info('carrier breaker half-open: trying one call'));
    this.breaker.on('close', () => logger.info('carrier breaker closed: carrier healthy again'));
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /** While open: how long until the breaker lets a call through again. */
  get remainingOpenMs(): number {
    if (!this.breaker.opened) return 0;
    return Math.max(0, this.openedAt + this.settings.resetMs - Date.now());
  }

  fire(order: ConfirmedOrderMessage): Promise<Shipment> {
    return this.breaker.fire(order);
  }

  /** True when `error` is the breaker refusing a call (open), not the carrier failing. */
  static refusedByBreaker(error: unknown): boolean {
    return (error as { code?: unknown }).code === 'EOPENBREAKER';
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}
