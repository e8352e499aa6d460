import type { ConfirmedOrderMessage } from '../engine/protocol/index.js';
import { CarrierBreaker } from './carrier-breaker.js';
import type { Shipment } from './carrier-client.js';

// One delivery's carrier calls: up to CARRIER_ATTEMPTS, with exponential backoff and jitter
// between them, behind the breaker. The jitter's randomness comes in from the caller.

/** Jitter added to each in-delivery carrier retry, as a fraction of the delay. */
export const RETRY_JITTER_FRACTION = 0.5;

export type Attempt =
  | { readonly shipment: Shipment }
  | {
      readonly reason: string;
      /** The breaker's remaining open time if it refused or is open now, else null. */
      readonly breakerOpenMs: number | null;
    };

export interface CarrierAttemptsDeps {
  readonly breaker: CarrierBreaker;
  readonly attempts: number;
  readonly retryBaseMs: number;
  /** Resolves after `ms` unless the agent stops first (then at once). */
  readonly pause: (ms: number) => Promise<void>;
  readonly stopping: () => boolean;
  /** A uniform number in [0, 1), as Math.random. */
  readonly random: () => number;
  /** A monotonic clock in ms, for the calls' latency. */
  readonly monotonicMs: () => number;
  readonly carrierCall: (result: 'ok' | 'failed', ms: number) => void;
}

/** The pause after failed attempt `attempt` (1-based): base × 2^(attempt−1), plus jitter. */
export function carrierRetryPauseMs(attempt: number, retryBaseMs: number, random: number): number {
  const delayMs = retryBaseMs * 2 ** (attempt - 1);
  return delayMs + random * delayMs * RETRY_JITTER_FRACTION;
}

/** Up to `attempts` carrier calls with exponential backoff and jitter, unless the breaker opens. */
export async function callCarrier(
  order: ConfirmedOrderMessage,
  deps: CarrierAttemptsDeps,
): Promise<Attempt> {
  let reason = 'no attempt';
  for (let attempt = 1; attempt <= deps.attempts && !deps.stopping(); attempt += 1) {
    // Another delivery's call is testing the carrier: wait for its verdict. Failing now would
    // spend a redelivery per backoff step while the trial runs (up to the call timeout), and a
    // flapping carrier would dead-letter orders within seconds.
    while (deps.breaker.probing && !deps.stopping()) await deps.breaker.whenProbed();
    if (deps.stopping()) break;
    if (deps.breaker.state === 'open') return refused(deps.breaker);
    const started = deps.monotonicMs();
    try {
      const shipment = await deps.breaker.fire(order);
      deps.carrierCall('ok', deps.monotonicMs() - started);
      return { shipment };
    } catch (error) {
      if (CarrierBreaker.refusedByBreaker(error)) return refused(deps.breaker);
      deps.carrierCall('failed', deps.monotonicMs() - started);
      reason = (error as Error).message;
    }
    if (attempt < deps.attempts)
      await deps.pause(carrierRetryPauseMs(attempt, deps.retryBaseMs, deps.random()));
  }
  return { reason, breakerOpenMs: openMs(deps.breaker) };
}

function refused(breaker: CarrierBreaker): Attempt {
  return { reason: 'carrier breaker open', breakerOpenMs: breaker.remainingOpenMs };
}

function openMs(breaker: CarrierBreaker): number | null {
  return breaker.state === 'open' ? breaker.remainingOpenMs : null;
}
