import { carrierRetryPauseMs } from './carrier-attempts.js';
import type { AgentConfig } from './config.js';
import { backoffFor } from './delivery-decision.js';

// How long an order may stay neither shipped nor dead-lettered while the carrier fails and the
// engine answers, as a formula of the settings, read off the code: logged at start, explained in
// docs/operations.md ("How long an order may take"), and checked against the decider in
// test/shipping-settle-bound.test.ts.
//
//   D = CARRIER_ATTEMPTS × 2 × BREAKER_TIMEOUT_MS + Σ pauses between attempts (jitter at most)
//         one delivery: per attempt a wait for another delivery's trial call, then its own call,
//         each cut at the breaker's timeout
//   W(n) = max(SHIPPING_BACKOFF_MS(n), BREAKER_RESET_MS)
//         between delivery n and the next: the schedule, or the breaker's remaining open time
//   by deliveries:  SHIPPING_MAX_DELIVER × D + Σ_{n < SHIPPING_MAX_DELIVER} W(n)
//   by deadline:    SHIPPING_DEADLINE_MS + max_n W(n) + D            (when set)
//
// Not in it: engine round trips and NATS publishes (milliseconds while they answer), a wait for
// a slot when more deliveries are due than the agents have, an engine away (each of its calls
// may wait ENGINE_WAIT_MS, and a report of the outcome waits for it), a stop (a hand-back costs
// no delivery, so each stop adds a delivery's time) and an agent killed (its delivery comes back
// after SHIPPING_ACK_WAIT_MS, and counts).

export interface SettleBoundSettings {
  readonly maxDeliver: number;
  readonly deadlineMs: number;
  readonly backoffMs: readonly number[];
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly breakerTimeoutMs: number;
  readonly breakerResetMs: number;
}

export function settleBoundSettings(config: AgentConfig): SettleBoundSettings {
  return {
    maxDeliver: config.maxDeliver,
    deadlineMs: config.deadlineMs,
    backoffMs: config.backoffMs,
    attempts: config.carrier.attempts,
    retryBaseMs: config.carrier.retryBaseMs,
    breakerTimeoutMs: config.breaker.timeoutMs,
    breakerResetMs: config.breaker.resetMs,
  };
}

export interface SettleBound {
  /** D: the longest one delivery holds its message. */
  readonly deliveryMsMax: number;
  /** What SHIPPING_MAX_DELIVER alone allows. */
  readonly byDeliveriesMs: number;
  /** What SHIPPING_DEADLINE_MS allows; null without a deadline. */
  readonly byDeadlineMs: number | null;
  /** The smaller of the two: the bound. */
  readonly settleMsMax: number;
}

/** The largest random draw in [0, 1), for the jitter's worst case. */
const RANDOM_MAX = 1;

export function settleBound(settings: SettleBoundSettings): SettleBound {
  let pausesMs = 0;
  for (let attempt = 1; attempt < settings.attempts; attempt += 1)
    pausesMs += carrierRetryPauseMs(attempt, settings.retryBaseMs, RANDOM_MAX);
  const deliveryMsMax = settings.attempts * 2 * settings.breakerTimeoutMs + pausesMs;
  const between = (n: number) =>
    Math.max(backoffFor(settings.backoffMs, n), settings.breakerResetMs);
  let waitsMs = 0;
  for (let n = 1; n < settings.maxDeliver; n += 1) waitsMs += between(n);
  const byDeliveriesMs = settings.maxDeliver * deliveryMsMax + waitsMs;
  const longestWaitMs = Math.max(...settings.backoffMs, settings.breakerResetMs);
  const byDeadlineMs =
    settings.deadlineMs > 0 ? settings.deadlineMs + longestWaitMs + deliveryMsMax : null;
  return {
    deliveryMsMax,
    byDeliveriesMs,
    byDeadlineMs,
    settleMsMax: Math.min(byDeliveriesMs, byDeadlineMs ?? Number.POSITIVE_INFINITY),
  };
}
