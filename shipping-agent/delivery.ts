import { randomUUID } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import {
  type ConfirmedOrderMessage,
  type DeadLetterMessage,
  OrderIdSchema,
} from '../engine/protocol/index.js';
import { CarrierBreaker } from './carrier-breaker.js';
import type { Shipment } from './carrier-client.js';
import {
  countedDeliveries,
  type Standing,
  stepAfterCarrierFailed,
  stepAfterError,
  stepBeforeCarrier,
} from './delivery-budget.js';
import { type EngineReports, EngineUnavailableError } from './engine-reports.js';
import type { AgentMetrics } from './metrics.js';
import type { CustomerNotifier } from './notifications.js';
import type { StopReleases } from './stop-releases.js';

// One delivery of one confirmed order: what the agent does with a message from ORDERS.
//
//   engine out of reach                            → each call to it is tried again every second,
//                                                    for up to ENGINE_WAIT_MS (then nak, 1 s); once
//                                                    the carrier has the shipment, until the stop
//   the agent is stopping                          → nak at once, recorded as no delivery (a stop
//                                                    is no verdict: delivery-budget.ts), at any
//                                                    point and whatever the delivery's number
//   already shipped (the engine has a trackingId)  → ack, no carrier call
//   past the last delivery (its agent died)        → dead-letter stream, SHIPPING_FAILED, term;
//                                                    no carrier call
//   breaker open                                   → tell the customer "delayed" once; nak for
//                                                    the breaker's remaining time
//   up to `attempts` carrier calls with backoff    → success: report SHIPPING_REQUESTED, then ack
//   all attempts failed                            → tell the customer "delayed" once; nak with
//                                                    the next delay of the schedule
//   the last delivery failed                       → dead-letter stream, SHIPPING_FAILED, term
//   any other error (a notification not published) → nak with the next delay of the schedule
//
// "Last" counts deliveries as delivery-budget.ts does: JetStream's count less stop releases.
// Every step is safe to repeat: the carrier makes one shipment per orderId, the engine ignores a
// repeated status, notifications and dead letters are de-duplicated by message id.

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

/** Between two tries to reach the engine (it is restarting or failing over). */
export const ENGINE_RETRY_DELAY_MS = 1_000;
/** Why a delivery past SHIPPING_MAX_DELIVER is dead-lettered without a carrier call. */
export const EXHAUSTED_REASON = 'deliveries exhausted without an answer';
/** Jitter added to each in-delivery carrier retry, as a fraction of the delay. */
const RETRY_JITTER_FRACTION = 0.5;
const ORDER_ID = new RegExp(OrderIdSchema.pattern as string);

export interface DeliveryDeps {
  readonly breaker: CarrierBreaker;
  readonly engine: EngineReports;
  readonly notifier: CustomerNotifier;
  readonly deadLetter: (message: DeadLetterMessage, msgId: string) => Promise<void>;
  readonly stopReleases: Pick<StopReleases, 'handedBack' | 'record'>;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  readonly backoffMs: readonly number[];
  /** How long a delivery keeps trying to reach the engine before it hands the message back. */
  readonly engineWaitMs: number;
  /** Resolves after `ms` unless the agent stops first (then at once). */
  readonly pause: (ms: number) => Promise<void>;
  /** True once the agent is stopping: no new attempts, deliveries in hand are handed back. */
  readonly stopping: () => boolean;
  /** A delivery starts waiting for an engine that doesn't answer: its slot is free meanwhile. */
  readonly engineWaitStarted: () => void;
  /** Its wait is over: resolves once it has a slot again (the agent's bound on working ones). */
  readonly engineWaitEnded: () => Promise<void>;
}

export async function deliver(msg: JsMsg, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const order = parseOrder(msg);
  if (order === null) {
    deps.logger.error({ seq: msg.seq, subject: msg.subject }, 'not an order message; dropped');
    msg.term();
    return 'invalid';
  }
  const log = deps.logger.child({ orderId: order.orderId, delivery: msg.info.deliveryCount });
  // A carrier call may outlast ack_wait: tell JetStream the message is still being worked on, or
  // it would hand it to another agent meanwhile.
  const heartbeat = setInterval(() => msg.working(), deps.ackWaitMs / 2);
  const standing = standingOf(msg, order, deps, log);
  try {
    const waited = waitForEngine(deps, log, performance.now() + deps.engineWaitMs);
    return await deliverOrder(msg, order, deps, waited, standing, log);
  } catch (error) {
    const engineAway = error instanceof EngineUnavailableError;
    const step = stepAfterError(await standing(), engineAway);
    if (step === 'hand_back') return await handBack(msg, order, deps, log, error);
    if (step === 'retry_soon') {
      // The engine is still away: nothing is lost, the message comes back shortly. Past the last
      // delivery it is dead-lettered once the engine can say whether the order shipped.
      log.warn({ err: error }, PUT_BACK);
      msg.nak(ENGINE_RETRY_DELAY_MS);
      return 'engine_unavailable';
    }
    if (step === 'retry_later') {
      // Not the engine's absence (a refusal, NATS refusing a notification): the schedule's next
      // delay, as for a carrier failure, or a lasting fault would spend a delivery a second.
      const delayMs = backoffFor(deps.backoffMs, msg.info.deliveryCount);
      log.warn({ err: error, retryInMs: delayMs }, PUT_BACK);
      msg.nak(delayMs);
      return 'errored';
    }
    // The last delivery: keep the order where an operator sees and replays it. Awaited inside
    // the try: the heartbeat must run until the dead-lettering is done (it waits for the engine
    // to take SHIPPING_FAILED), or the ack wait lapses and another agent gets the message.
    const message = (error as Error).message;
    const reason = engineAway ? `engine unavailable: ${message}` : message;
    return await deadLetter(msg, order, reason, deps, log);
  } finally {
    clearInterval(heartbeat);
  }
}

/** Logged whenever a delivery hands its message back without a verdict. */
export const PUT_BACK = 'delivery put back; it comes again shortly';

/**
 * Where this delivery stands against the budget, for each decision. The stop releases are read
 * only where they can change one (from the last delivery on), and once per delivery; unreadable,
 * they count as deliveries: the order may be dead-lettered sooner, never lost.
 */
function standingOf(
  msg: JsMsg,
  order: ConfirmedOrderMessage,
  deps: DeliveryDeps,
  log: Logger,
): () => Promise<Standing> {
  const { deliveryCount } = msg.info;
  let handedBack: Promise<number> | null = null;
  const readHandedBack = () =>
    deps.stopReleases.handedBack(msg.seq, order.orderId).catch((error: unknown) => {
      log.warn({ err: error }, 'stop releases unreadable; counting every delivery');
      return 0;
    });
  return async () => {
    const stopping = deps.stopping();
    if (stopping || deliveryCount < deps.maxDeliver)
      return { counted: deliveryCount, maxDeliver: deps.maxDeliver, stopping };
    handedBack ??= readHandedBack();
    const counted = countedDeliveries(deliveryCount, await handedBack);
    return { counted, maxDeliver: deps.maxDeliver, stopping: deps.stopping() };
  };
}

/**
 * The agent is stopping: the message goes straight back for another agent, with no "delayed"
 * notice and no dead letter, and the release is recorded so that it costs the order no delivery.
 * Unrecorded (NATS trouble), it counts as one, as a delivery that died with its agent does.
 */
async function handBack(
  msg: JsMsg,
  order: ConfirmedOrderMessage,
  deps: DeliveryDeps,
  log: Logger,
  error?: unknown,
): Promise<DeliveryOutcome> {
  try {
    await deps.stopReleases.record(msg.seq, order.orderId, randomUUID());
  } catch (recordError) {
    log.warn({ err: recordError }, 'stop release not recorded; this delivery counts');
  }
  log.warn({ err: error, stopping: true }, PUT_BACK);
  msg.nak();
  return 'released';
}

/**
 * Runs `work` again while the engine can't be reached, each ENGINE_RETRY_DELAY_MS, until
 * `giveUpAt` (a `performance.now()` time) or the agent stops; then the last error goes to the
 * caller. Any other error goes at once. `onFirstWait` hears of the first wait (to log it). While
 * it waits the delivery leaves its slot to others; it takes one again before it goes on.
 */
async function retryWhileEngineAway<T>(
  deps: Pick<DeliveryDeps, 'pause' | 'stopping' | 'engineWaitStarted' | 'engineWaitEnded'>,
  giveUpAt: number,
  work: () => Promise<T>,
  onFirstWait: (error: EngineUnavailableError) => void = () => {},
): Promise<T> {
  let waiting = false;
  try {
    for (;;) {
      try {
        return await work();
      } catch (error) {
        const waitOn =
          error instanceof EngineUnavailableError &&
          !deps.stopping() &&
          performance.now() + ENGINE_RETRY_DELAY_MS <= giveUpAt;
        if (!waitOn) throw error;
        if (!waiting) {
          deps.engineWaitStarted();
          waiting = true;
          onFirstWait(error);
        }
        await deps.pause(ENGINE_RETRY_DELAY_MS);
        if (deps.stopping()) throw error;
      }
    }
  } finally {
    if (waiting) await deps.engineWaitEnded();
  }
}

/** Runs one engine call, waiting for an engine that can't be reached until `giveUpAt`. */
type WaitForEngine = <T>(call: () => Promise<T>, giveUpAt?: number) => Promise<T>;

/**
 * The engine calls of one delivery wait for an engine that can't be reached, until
 * `deliveryGiveUpAt` unless a call says otherwise. A restart or failover is our own hiccup, not
 * the carrier's: handing the message back instead would spend a redelivery a second and
 * dead-letter orders within maxDeliver seconds. Only the call is repeated, never a carrier call
 * made before it. The first wait is logged.
 */
function waitForEngine(deps: DeliveryDeps, log: Logger, deliveryGiveUpAt: number): WaitForEngine {
  let announced = false;
  const onWait = (error: EngineUnavailableError) => {
    if (announced) return;
    announced = true;
    log.warn({ err: error }, 'engine unavailable; waiting for it');
  };
  return (call, giveUpAt = deliveryGiveUpAt) => retryWhileEngineAway(deps, giveUpAt, call, onWait);
}

async function deliverOrder(
  msg: JsMsg,
  order: ConfirmedOrderMessage,
  deps: DeliveryDeps,
  waited: WaitForEngine,
  standing: () => Promise<Standing>,
  log: Logger,
): Promise<DeliveryOutcome> {
  const current = await waited(() => deps.engine.order(order.orderId));
  if (current === null) {
    log.error('the engine does not know this order; dropped');
    msg.term();
    return 'unknown_order';
  }
  if (current.trackingId !== null) {
    // Told again in case the delivery that recorded it died before telling (de-duplicated).
    await deps.notifier.notify(current);
    msg.ack();
    return 'already_shipped';
  }
  const beforeCarrier = stepBeforeCarrier(await standing());
  if (beforeCarrier === 'hand_back') return handBack(msg, order, deps, log);
  if (beforeCarrier === 'dead_letter') return deadLetter(msg, order, EXHAUSTED_REASON, deps, log);
  if (current.status === 'CONFIRMED' && msg.info.deliveryCount === 1)
    await deps.notifier.notify(current);

  const attempt = await callCarrier(order, deps);
  if ('shipment' in attempt) {
    const { trackingId } = attempt.shipment;
    // The carrier has the shipment: wait for the engine as long as the agent runs, rather than
    // hand back (or, on the last delivery, dead-letter) an order that is on its way.
    const { order: shipped } = await waited(
      () => deps.engine.report(order.orderId, 'SHIPPING_REQUESTED', { trackingId }),
      Number.POSITIVE_INFINITY,
    );
    await deps.notifier.notify(shipped);
    msg.ack();
    log.info({ trackingId }, 'shipment requested');
    return 'shipped';
  }

  // Checked after the carrier's answer: a stop during the call ("no attempt" if before it) is
  // not the carrier's failure, even on the last delivery.
  const afterFailure = stepAfterCarrierFailed(await standing());
  if (afterFailure === 'hand_back') return handBack(msg, order, deps, log);
  if (afterFailure === 'dead_letter') return deadLetter(msg, order, attempt.reason, deps, log);

  if (current.status !== 'SHIPPING_DELAYED') {
    const { order: delayed } = await waited(() =>
      deps.engine.report(order.orderId, 'SHIPPING_DELAYED', {
        message: 'Shipping will be arranged shortly.',
      }),
    );
    await deps.notifier.notify(delayed);
  }
  // An open breaker pushes the next try past its reset, never earlier than the schedule: every
  // redelivery counts toward SHIPPING_MAX_DELIVER, and a flapping breaker must not use them up in
  // seconds.
  const scheduledMs = backoffFor(deps.backoffMs, msg.info.deliveryCount);
  const delayMs = attempt.breakerOpen
    ? Math.max(deps.breaker.remainingOpenMs, scheduledMs)
    : scheduledMs;
  msg.nak(delayMs);
  log.warn(
    { reason: attempt.reason, retryInMs: delayMs },
    'shipment not requested yet; will retry',
  );
  return attempt.breakerOpen ? 'breaker_open' : 'delayed';
}

/**
 * The last delivery failed, or the one before it died: the order goes to the dead-letter stream
 * (once per message of ORDERS: `<orderId>:<seq>` de-duplicates), becomes SHIPPING_FAILED and the
 * customer is told; then the message ends. The report waits for an engine that can't be reached
 * until the agent stops; then the message goes back, and the next delivery (past the last, as
 * JetStream never gives a message up: see streams.ts) does it again.
 */
async function deadLetter(
  msg: JsMsg,
  order: ConfirmedOrderMessage,
  reason: string,
  deps: DeliveryDeps,
  log: Logger,
): Promise<DeliveryOutcome> {
  const letter: DeadLetterMessage = {
    ...order,
    deliveries: msg.info.deliveryCount,
    reason,
    at: Date.now(),
  };
  await deps.deadLetter(letter, `${order.orderId}:${msg.seq}`);
  try {
    const { order: failed } = await retryWhileEngineAway(
      deps,
      Number.POSITIVE_INFINITY,
      () =>
        deps.engine.report(order.orderId, 'SHIPPING_FAILED', {
          message: 'The carrier could not take the shipment; our team will arrange it.',
        }),
      (error) => log.warn({ err: error }, 'dead-lettered; waiting for the engine to record it'),
    );
    // Even when the engine had it already: whoever recorded it may have died before telling.
    await deps.notifier.notify(failed);
  } catch (error) {
    log.error({ err: error }, 'dead-lettered, but SHIPPING_FAILED not recorded or announced yet');
    msg.nak(ENGINE_RETRY_DELAY_MS);
    return 'dead_lettered';
  }
  log.error(
    { deliveries: letter.deliveries, reason },
    'shipment dead-lettered: operator action needed (npm run replay-dead-letters)',
  );
  // A bare term: nats-server 2.9 ignores a term with a reason (the message would come back).
  msg.term();
  return 'dead_lettered';
}

type Attempt = { shipment: Shipment } | { reason: string; breakerOpen: boolean };

/** Up to `attempts` carrier calls with exponential backoff and jitter, unless the breaker opens. */
async function callCarrier(order: ConfirmedOrderMessage, deps: DeliveryDeps): Promise<Attempt> {
  let reason = 'no attempt';
  for (let attempt = 1; attempt <= deps.attempts && !deps.stopping(); attempt += 1) {
    // Another delivery's call is testing the carrier: wait for its verdict. Failing now would
    // spend a redelivery per backoff step while the trial runs (up to the call timeout), and a
    // flapping carrier would dead-letter orders within seconds.
    while (deps.breaker.probing && !deps.stopping()) await deps.breaker.whenProbed();
    if (deps.stopping()) break;
    if (deps.breaker.state === 'open') return { reason: 'carrier breaker open', breakerOpen: true };
    const started = performance.now();
    try {
      const shipment = await deps.breaker.fire(order);
      deps.metrics.carrierCall('ok', performance.now() - started);
      return { shipment };
    } catch (error) {
      if (CarrierBreaker.refusedByBreaker(error))
        return { reason: 'carrier breaker open', breakerOpen: true };
      deps.metrics.carrierCall('failed', performance.now() - started);
      reason = (error as Error).message;
    }
    if (attempt < deps.attempts) {
      const delayMs = deps.retryBaseMs * 2 ** (attempt - 1);
      await deps.pause(delayMs + Math.random() * delayMs * RETRY_JITTER_FRACTION);
    }
  }
  return { reason, breakerOpen: deps.breaker.state === 'open' };
}

export function backoffFor(scheduleMs: readonly number[], deliveryCount: number): number {
  return scheduleMs[Math.min(deliveryCount - 1, scheduleMs.length - 1)] ?? 0;
}

function parseOrder(msg: { json<T>(): T }): ConfirmedOrderMessage | null {
  try {
    const value = msg.json<Partial<ConfirmedOrderMessage>>();
    if (
      typeof value.orderId !== 'string' ||
      !ORDER_ID.test(value.orderId) ||
      typeof value.saleId !== 'string' ||
      typeof value.customerId !== 'string' ||
      !Number.isInteger(value.quantity) ||
      !Number.isInteger(value.createdAt)
    )
      return null;
    return value as ConfirmedOrderMessage;
  } catch {
    return null;
  }
}
