import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import type { ConfirmedOrderMessage } from '../engine/protocol/index.js';
import type { CarrierClient, Shipment } from './carrier-client.js';
import type { AgentConfig } from './config.js';

// The carrier behind an opossum circuit breaker: when most recent calls fail, stop calling for a
// while (the carrier is down; hammering it helps nobody), then let one call through to test it.
// Deliveries that meet an open breaker are put back with the breaker's remaining time; those that
// meet its trial call under way wait for that call's verdict.

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export class CarrierBreaker {
  private readonly breaker: CircuitBreaker<[ConfirmedOrderMessage], Shipment>;
  private openedAt = 0;
  /** Deliveries waiting for the trial call's verdict: woken when the breaker closes or reopens. */
  private readonly verdictWaiters = new Set<() => void>();

  constructor(
    carrier: CarrierClient,
    private readonly settings: AgentConfig['breaker'],
    logger: Logger,
    /** A monotonic clock in ms (a wall clock set back would keep the breaker "open" for long). */
    private readonly monotonicMs: () => number,
  ) {
    this.breaker = new CircuitBreaker(
      // Cut at the breaker's timeout too: opossum only stops waiting, and a held call would keep
      // its connection until undici's own timeouts, however long they are set.
      (order: ConfirmedOrderMessage) =>
        carrier.requestShipment(order, AbortSignal.timeout(settings.timeoutMs)),
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
      this.openedAt = this.monotonicMs();
      this.wakeVerdictWaiters();
      logger.warn({ resetMs: settings.resetMs }, 'carrier breaker open: pausing carrier calls');
    });
    this.breaker.on('halfOpen', () => logger.info('carrier breaker half-open: trying one call'));
    this.breaker.on('close', () => {
      this.wakeVerdictWaiters();
      logger.info('carrier breaker closed: carrier healthy again');
    });
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /** While open: how long until the breaker lets a call through again. */
  get remainingOpenMs(): number {
    if (!this.breaker.opened) return 0;
    return Math.max(0, this.openedAt + this.settings.resetMs - this.monotonicMs());
  }

  /** Half-open with its one trial call already under way: any other call would be refused. */
  get probing(): boolean {
    return this.breaker.halfOpen && !this.breaker.pendingClose;
  }

  /**
   * Resolves once the trial call under way has its verdict (the breaker closes or opens again);
   * at the latest after the breaker's call timeout, which bounds that call anyway.
   */
  whenProbed(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.verdictWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.settings.timeoutMs);
      this.verdictWaiters.add(wake);
    });
  }

  fire(order: ConfirmedOrderMessage): Promise<Shipment> {
    return this.breaker.fire(order);
  }

  /** True when `error` is the breaker refusing a call (open), not the carrier failing. */
  static refusedByBreaker(error: unknown): boolean {
    return (error as { code?: unknown }).code === 'EOPENBREAKER';
  }

  shutdown(): void {
    this.wakeVerdictWaiters();
    this.breaker.shutdown();
  }

  /** Ends every wait for a verdict at once (the agent is stopping: no new calls). */
  wakeVerdictWaiters(): void {
    for (const wake of [...this.verdictWaiters]) wake();
  }
}
