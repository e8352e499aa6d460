// Where a delivery stands against its budget, and what it does next at each point where it may
// end. Pure, so that every case can be tested (test/shipping-delivery-budget.test.ts).
//
// The budget is SHIPPING_MAX_DELIVER deliveries and, when SHIPPING_DEADLINE_MS is set, a time.
// It counts the deliveries that gave the carrier its chance or died trying: JetStream's delivery
// count less the deliveries a stopping agent handed back (stop-releases.ts). A stop says nothing
// about the carrier, so a stopping agent hands every delivery back whatever its count, and that
// release costs the order nothing: a rolling deploy never dead-letters an order. The deadline
// only makes a failure the last one: an order past it still gets its carrier call.

export interface Standing {
  /** Deliveries of the message that count: JetStream's count less those handed back on a stop. */
  readonly counted: number;
  readonly maxDeliver: number;
  readonly stopping: boolean;
  /** Since the order's message reached ORDERS: the agent's clock against the stream's. */
  readonly ageMs: number;
  /** SHIPPING_DEADLINE_MS; 0: none, the deliveries alone bound the order's time. */
  readonly deadlineMs: number;
}

/** The order is not shipped yet: what before calling the carrier. */
export type StepBeforeCarrier = 'hand_back' | 'dead_letter' | 'call_carrier';
/** The carrier did not take the shipment, or was not called because the agent is stopping. */
export type StepAfterCarrierFailed = 'hand_back' | 'dead_letter' | 'retry_later';
/** The delivery failed otherwise: `retry_soon` is for an engine that can't be reached. */
export type StepAfterError = 'hand_back' | 'dead_letter' | 'retry_soon' | 'retry_later';

/**
 * JetStream's `deliveryCount` less the hand-backs of stopping agents recorded for the message.
 * Each was recorded by the agent holding an earlier delivery, before it handed it back, so each
 * stands for one delivery that doesn't count. Not matched by delivery number: nats-server 2.9 may
 * deliver a message again with its count restarted at 1 (docs/operations.md), and then numbers
 * repeat; the difference only errs towards more deliveries, never fewer.
 */
export function countedDeliveries(deliveryCount: number, handedBackOnStop: number): number {
  return deliveryCount - handedBackOnStop;
}

/** A failure now is the order's last: its deliveries are spent, or its deadline has passed. */
export function lastChance(standing: Standing): boolean {
  const pastDeadline = standing.deadlineMs > 0 && standing.ageMs >= standing.deadlineMs;
  return standing.counted >= standing.maxDeliver || pastDeadline;
}

export function stepBeforeCarrier(standing: Standing): StepBeforeCarrier {
  if (standing.stopping) return 'hand_back';
  // Past the last counted delivery: that one ended without a verdict, its agent killed mid-call,
  // or killed by this very message. No more carrier calls: the order goes where an operator sees
  // it, rather than bring agents down for ever.
  return standing.counted > standing.maxDeliver ? 'dead_letter' : 'call_carrier';
}

export function stepAfterCarrierFailed(standing: Standing): StepAfterCarrierFailed {
  if (standing.stopping) return 'hand_back';
  return lastChance(standing) ? 'dead_letter' : 'retry_later';
}

export function stepAfterError(standing: Standing, engineAway: boolean): StepAfterError {
  if (standing.stopping) return 'hand_back';
  if (engineAway)
    // Past the last delivery the order is dead-lettered once the engine can say whether it
    // shipped. Not for the deadline: a dead letter waits for the engine to record it anyway.
    return standing.counted === standing.maxDeliver ? 'dead_letter' : 'retry_soon';
  return lastChance(standing) ? 'dead_letter' : 'retry_later';
}
