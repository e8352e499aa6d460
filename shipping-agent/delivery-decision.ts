import type { OrderStatus } from '../engine/protocol/index.js';
import {
  type Standing,
  stepAfterCarrierFailed,
  stepAfterError,
  stepBeforeCarrier,
} from './delivery-budget.js';

// What the agent does next with one delivery of one confirmed order, as a pure function of what
// it knows at that point (a Decider, as the engine's core: facts in, an action out; delivery.ts
// does the I/O and asks again after each step). Tested row by row and with properties in
// test/shipping-delivery-decision.test.ts.
//
//   engine out of reach                            → each call to it is tried again every second,
//                                                    for up to ENGINE_WAIT_MS (then nak, 1 s); once
//                                                    the carrier has the shipment, until the stop
//   the agent is stopping                          → nak at once, recorded as no delivery (a stop
//                                                    is no verdict: delivery-budget.ts), at any
//                                                    point and whatever the delivery's number
//   the engine does not know the order             → term
//   already shipped (the engine has a trackingId)  → tell the customer again, ack; no carrier call
//   past the last delivery (its agent died)        → dead-letter stream, SHIPPING_FAILED, term;
//                                                    no carrier call
//   the first delivery of a confirmed order        → tell the customer "confirmed", then call
//   up to `attempts` carrier calls with backoff    → success: report SHIPPING_REQUESTED, then ack
//   breaker open                                   → tell the customer "delayed" once; nak for
//                                                    the breaker's remaining time, at least the
//                                                    schedule's next delay
//   all attempts failed                            → tell the customer "delayed" once; nak with
//                                                    the next delay of the schedule
//   the last delivery failed, or one past          → dead-letter stream, SHIPPING_FAILED, term
//   SHIPPING_DEADLINE_MS
//   any other error (a notification not published) → nak with the next delay of the schedule;
//                                                    dead letter as above on the last
//   dead-lettered, SHIPPING_FAILED not recorded    → nak, 1 s: the next delivery records it
//
// "Last" counts deliveries as delivery-budget.ts does: JetStream's count less stop releases.
// How long all this may take, as a formula of the settings: settle-bound.ts.
// Every step is safe to repeat: the carrier makes one shipment per orderId, the engine ignores a
// repeated status, notifications and dead letters are de-duplicated by message id.

/** Between two tries to reach the engine (it is restarting or failing over). */
export const ENGINE_RETRY_DELAY_MS = 1_000;
/** Why a delivery past SHIPPING_MAX_DELIVER is dead-lettered without a carrier call. */
export const EXHAUSTED_REASON = 'deliveries exhausted without an answer';

/** How a delivery ended, for the metrics and the logs. */
export type DeliveryOutcome =
  | 'shipped'
  | 'already_shipped'
  | 'delayed'
  | 'breaker_open'
  | 'dead_lettered'
  | 'released'
  | 'engine_unavailable'
  | 'unknown_order'
  | 'errored'
  | 'invalid';

/** What the delivery has just learnt: each point where it may end or change course. */
export type DeliveryFact =
  /** The engine's answer to "this order?": it doesn't exist. */
  | { readonly kind: 'order_unknown' }
  /** The engine's answer: the order, with its status and whether it has a tracking id. */
  | { readonly kind: 'order_read'; readonly status: OrderStatus; readonly shipped: boolean }
  /** The carrier took the shipment (this call or an earlier one: it answers with the same). */
  | { readonly kind: 'carrier_shipped' }
  /**
   * No carrier call succeeded (or none was made: the agent is stopping, the breaker is open).
   * `breakerOpenMs`: the breaker's remaining open time if it is open now, else null. `status`:
   * the order's status as the engine held it before the calls.
   */
  | {
      readonly kind: 'carrier_failed';
      readonly reason: string;
      readonly breakerOpenMs: number | null;
      readonly status: OrderStatus;
    }
  /** A step failed otherwise: the engine out of reach (its wait over), or any other error. */
  | { readonly kind: 'step_failed'; readonly engineAway: boolean; readonly reason: string }
  /** The dead letter is published, but the engine has not recorded SHIPPING_FAILED. */
  | { readonly kind: 'failure_unrecorded' };

/** What the delivery knows besides the fact: where it stands, and the settings that bear. */
export interface DeliveryContext {
  /** JetStream's number for this delivery (1: the first), as the schedule counts. */
  readonly deliveryCount: number;
  readonly standing: Standing;
  /** SHIPPING_BACKOFF_MS: the delay before redelivery n; the last one repeats. */
  readonly backoffMs: readonly number[];
  /** BREAKER_RESET_MS: the longest an open breaker may hold a retry back. */
  readonly breakerResetMs: number;
}

/** The outcomes of a delivery put back to come again later. */
export type RetryOutcome = 'delayed' | 'breaker_open' | 'errored' | 'engine_unavailable';

export type DeliveryAction =
  /** The engine doesn't know the order: end the message. */
  | { readonly kind: 'drop' }
  /** The order has shipped already: tell the customer (again), then ack. */
  | { readonly kind: 'ack_shipped' }
  /** Ask the carrier; tell the customer "confirmed" first when this is the first delivery. */
  | { readonly kind: 'call_carrier'; readonly tellConfirmed: boolean }
  /** The carrier has the shipment: report SHIPPING_REQUESTED (the engine must take it), then ack. */
  | { readonly kind: 'report_shipped' }
  /** The agent is stopping: record the release, nak at once. */
  | { readonly kind: 'hand_back' }
  /** Dead-letter stream, SHIPPING_FAILED, then term. */
  | { readonly kind: 'dead_letter'; readonly reason: string }
  /** Nak with `delayMs`; report SHIPPING_DELAYED first when `reportDelayed`. */
  | {
      readonly kind: 'retry';
      readonly delayMs: number;
      readonly reportDelayed: boolean;
      readonly outcome: RetryOutcome | 'dead_lettered';
    };

export function decideDelivery(fact: DeliveryFact, context: DeliveryContext): DeliveryAction {
  switch (fact.kind) {
    case 'order_unknown':
      return { kind: 'drop' };
    case 'order_read':
      return decideOrderRead(fact, context);
    case 'carrier_shipped':
      // Even while stopping: the carrier has it, and the report costs one engine round trip.
      return { kind: 'report_shipped' };
    case 'carrier_failed':
      return decideCarrierFailed(fact, context);
    case 'step_failed':
      return decideStepFailed(fact, context);
    case 'failure_unrecorded':
      // The dead letter is kept (de-duplicated by `<orderId>:<seq>`): the next delivery, past
      // the last, publishes it again and waits for the engine to take SHIPPING_FAILED.
      return {
        kind: 'retry',
        delayMs: ENGINE_RETRY_DELAY_MS,
        reportDelayed: false,
        outcome: 'dead_lettered',
      };
    default: {
      const exhaustive: never = fact;
      throw new Error(`unknown delivery fact ${JSON.stringify(exhaustive)}`);
    }
  }
}

function decideOrderRead(
  fact: Extract<DeliveryFact, { kind: 'order_read' }>,
  context: DeliveryContext,
): DeliveryAction {
  // Told again in case the delivery that recorded it died before telling (de-duplicated).
  if (fact.shipped) return { kind: 'ack_shipped' };
  const step = stepBeforeCarrier(context.standing);
  switch (step) {
    case 'hand_back':
      return { kind: 'hand_back' };
    case 'dead_letter':
      return { kind: 'dead_letter', reason: EXHAUSTED_REASON };
    case 'call_carrier':
      return {
        kind: 'call_carrier',
        tellConfirmed: fact.status === 'CONFIRMED' && context.deliveryCount === 1,
      };
    default: {
      const exhaustive: never = step;
      throw new Error(`unknown step ${JSON.stringify(exhaustive)}`);
    }
  }
}

function decideCarrierFailed(
  fact: Extract<DeliveryFact, { kind: 'carrier_failed' }>,
  context: DeliveryContext,
): DeliveryAction {
  // Decided after the carrier's answer: a stop during the call ("no attempt" if before it) is
  // not the carrier's failure, even on the last delivery.
  const step = stepAfterCarrierFailed(context.standing);
  switch (step) {
    case 'hand_back':
      return { kind: 'hand_back' };
    case 'dead_letter':
      return { kind: 'dead_letter', reason: fact.reason };
    case 'retry_later':
      return {
        kind: 'retry',
        delayMs: carrierRetryDelayMs(fact.breakerOpenMs, context),
        reportDelayed: fact.status !== 'SHIPPING_DELAYED',
        outcome: fact.breakerOpenMs === null ? 'delayed' : 'breaker_open',
      };
    default: {
      const exhaustive: never = step;
      throw new Error(`unknown step ${JSON.stringify(exhaustive)}`);
    }
  }
}

/**
 * An open breaker pushes the next try past its reset, never earlier than the schedule: every
 * redelivery counts toward SHIPPING_MAX_DELIVER, and a flapping breaker must not use them up in
 * seconds. Never past BREAKER_RESET_MS, whatever the breaker's clock says. Whole milliseconds:
 * nats-server reads a nak's delay as whole nanoseconds, and one with a fraction as no delay.
 */
function carrierRetryDelayMs(breakerOpenMs: number | null, context: DeliveryContext): number {
  const scheduledMs = backoffFor(context.backoffMs, context.deliveryCount);
  if (breakerOpenMs === null) return scheduledMs;
  return Math.max(Math.ceil(Math.min(breakerOpenMs, context.breakerResetMs)), scheduledMs);
}

function decideStepFailed(
  fact: Extract<DeliveryFact, { kind: 'step_failed' }>,
  context: DeliveryContext,
): DeliveryAction {
  const step = stepAfterError(context.standing, fact.engineAway);
  switch (step) {
    case 'hand_back':
      return { kind: 'hand_back' };
    case 'retry_soon':
      // The engine is still away: nothing is lost, the message comes back shortly. Past the last
      // delivery it is dead-lettered once the engine can say whether the order shipped.
      return {
        kind: 'retry',
        delayMs: ENGINE_RETRY_DELAY_MS,
        reportDelayed: false,
        outcome: 'engine_unavailable',
      };
    case 'retry_later':
      // Not the engine's absence (a refusal, NATS refusing a notification): the schedule's next
      // delay, as for a carrier failure, or a lasting fault would spend a delivery a second.
      return {
        kind: 'retry',
        delayMs: backoffFor(context.backoffMs, context.deliveryCount),
        reportDelayed: false,
        outcome: 'errored',
      };
    case 'dead_letter':
      return {
        kind: 'dead_letter',
        reason: fact.engineAway ? `engine unavailable: ${fact.reason}` : fact.reason,
      };
    default: {
      const exhaustive: never = step;
      throw new Error(`unknown step ${JSON.stringify(exhaustive)}`);
    }
  }
}

/** The delay before redelivery `deliveryCount + 1`: the schedule's entry, the last repeating. */
export function backoffFor(scheduleMs: readonly number[], deliveryCount: number): number {
  return scheduleMs[Math.min(deliveryCount - 1, scheduleMs.length - 1)] ?? 0;
}
