import { randomUUID } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import {
  type ConfirmedOrderMessage,
  type DeadLetterMessage,
  decodeConfirmedOrder,
  type OrderView,
} from '../engine/protocol/index.js';
import { type CarrierAttemptsDeps, callCarrier } from './carrier-attempts.js';
import type { Standing } from './delivery-budget.js';
import {
  type DeliveryAction,
  type DeliveryFact,
  type DeliveryOutcome,
  decideDelivery,
} from './delivery-decision.js';
import { type StandingDeps, standingOf } from './delivery-standing.js';
import { type EngineReports, EngineUnavailableError } from './engine-reports.js';
import {
  type EngineWaitDeps,
  retryWhileEngineAway,
  type WaitForEngine,
  waitForEngine,
} from './engine-wait.js';
import type { CustomerNotifier } from './notifications.js';
import type { StopReleases } from './stop-releases.js';

// One delivery of one confirmed order: the I/O around the decisions of delivery-decision.ts.
// Each step (read the order, call the carrier, report, dead-letter) yields a fact; the decider
// says what to do with it; this file does it and tells JetStream (ack, nak, term).

/**
 * Decisions in one delivery, at most: the order read, the carrier's answer, a dead letter left
 * unrecorded (then it ends). More is a bug in the decider, not a slow carrier.
 */
const DELIVERY_STEPS_MAX = 3;

export interface DeliveryDeps extends CarrierAttemptsDeps, EngineWaitDeps, StandingDeps {
  readonly engine: EngineReports;
  readonly notifier: CustomerNotifier;
  readonly deadLetter: (message: DeadLetterMessage, msgId: string) => Promise<void>;
  readonly stopReleases: Pick<StopReleases, 'handedBack' | 'record'>;
  readonly logger: Logger;
  readonly ackWaitMs: number;
  readonly backoffMs: readonly number[];
  readonly breakerResetMs: number;
  /** How long a delivery keeps trying to reach the engine before it hands the message back. */
  readonly engineWaitMs: number;
  /** The wall clock in ms since the epoch, for the dead letter's time. */
  readonly wallClockMs: () => number;
}

/** Logged whenever a delivery hands its message back without a verdict. */
export const PUT_BACK = 'delivery put back; it comes again shortly';

export async function deliver(msg: JsMsg, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  // Null when it is not an order (a bug or a stranger on the subject): dropped, not retried.
  const order = decodeConfirmedOrder(msg.data);
  if (order === null) {
    deps.logger.error({ seq: msg.seq, subject: msg.subject }, 'not an order message; dropped');
    msg.term();
    return 'invalid';
  }
  // A carrier call may outlast ack_wait: tell JetStream the message is still being worked on, or
  // it would hand it to another agent meanwhile.
  const heartbeat = setInterval(() => msg.working(), deps.ackWaitMs / 2);
  try {
    return await new Delivery(msg, order, deps).run();
  } finally {
    clearInterval(heartbeat);
  }
}

/** A delivery's own state between steps: what the engine said, what failed last. */
class Delivery {
  private readonly log: Logger;
  private readonly waited: WaitForEngine;
  private readonly standing: () => Promise<Standing>;
  private current: OrderView | null = null;
  private trackingId: string | null = null;
  /** Why the carrier did not take the shipment, for the log. */
  private carrierReason = '';
  private lastError: unknown = null;

  constructor(
    private readonly msg: JsMsg,
    private readonly order: ConfirmedOrderMessage,
    private readonly deps: DeliveryDeps,
  ) {
    this.log = deps.logger.child({ orderId: order.orderId, delivery: msg.info.deliveryCount });
    this.waited = waitForEngine(deps, this.log, deps.monotonicMs() + deps.engineWaitMs);
    this.standing = standingOf(msg, order, deps, this.log);
  }

  async run(): Promise<DeliveryOutcome> {
    try {
      return await this.settle(await this.readOrder());
    } catch (error) {
      // Awaited inside deliver's try: the heartbeat runs until a dead letter is done (it waits
      // for the engine to take SHIPPING_FAILED), or the ack wait lapses and another agent gets it.
      this.lastError = error;
      return await this.settle({
        kind: 'step_failed',
        engineAway: error instanceof EngineUnavailableError,
        reason: (error as Error).message,
      });
    }
  }

  /** Decides on `fact` and does what was decided, fact after fact, until the delivery ends. */
  private async settle(fact: DeliveryFact): Promise<DeliveryOutcome> {
    let next: DeliveryOutcome | DeliveryFact = fact;
    for (let step = 1; typeof next !== 'string'; step += 1) {
      if (step > DELIVERY_STEPS_MAX) throw new Error(`no end after ${DELIVERY_STEPS_MAX} steps`);
      next = await this.perform(await this.decide(next));
    }
    return next;
  }

  private async decide(fact: DeliveryFact): Promise<DeliveryAction> {
    return decideDelivery(fact, {
      deliveryCount: this.msg.info.deliveryCount,
      standing: await this.standing(),
      backoffMs: this.deps.backoffMs,
      breakerResetMs: this.deps.breakerResetMs,
    });
  }

  private async readOrder(): Promise<DeliveryFact> {
    this.current = await this.waited(() => this.deps.engine.order(this.order.orderId));
    if (this.current === null) return { kind: 'order_unknown' };
    return {
      kind: 'order_read',
      status: this.current.status,
      shipped: this.current.trackingId !== null,
    };
  }

  /** Does `action`: the delivery's outcome when it ends it, else the next fact to decide on. */
  private async perform(action: DeliveryAction): Promise<DeliveryOutcome | DeliveryFact> {
    switch (action.kind) {
      case 'drop':
        this.log.error('the engine does not know this order; dropped');
        this.msg.term();
        return 'unknown_order';
      case 'ack_shipped':
        await this.deps.notifier.notify(this.knownOrder());
        this.msg.ack();
        return 'already_shipped';
      case 'call_carrier':
        return this.callCarrier(action.tellConfirmed);
      case 'report_shipped':
        return this.reportShipped();
      case 'hand_back':
        return this.handBack();
      case 'dead_letter':
        return this.deadLetter(action.reason);
      case 'retry':
        return this.retry(action);
      default: {
        const exhaustive: never = action;
        throw new Error(`unknown delivery action ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  private knownOrder(): OrderView {
    if (this.current === null) throw new Error('no order read from the engine yet');
    return this.current;
  }

  private async callCarrier(tellConfirmed: boolean): Promise<DeliveryFact> {
    const current = this.knownOrder();
    if (tellConfirmed) await this.deps.notifier.notify(current);
    const attempt = await callCarrier(this.order, this.deps);
    if ('shipment' in attempt) {
      this.trackingId = attempt.shipment.trackingId;
      return { kind: 'carrier_shipped' };
    }
    this.carrierReason = attempt.reason;
    return {
      kind: 'carrier_failed',
      reason: attempt.reason,
      breakerOpenMs: attempt.breakerOpenMs,
      status: current.status,
    };
  }

  /**
   * The carrier has the shipment: wait for the engine as long as the agent runs, rather than
   * hand back (or, on the last delivery, dead-letter) an order that is on its way.
   */
  private async reportShipped(): Promise<DeliveryOutcome> {
    const trackingId = this.trackingId;
    if (trackingId === null) throw new Error('no shipment to report');
    const { order: shipped } = await this.waited(
      () => this.deps.engine.report(this.order.orderId, 'SHIPPING_REQUESTED', { trackingId }),
      Number.POSITIVE_INFINITY,
    );
    await this.deps.notifier.notify(shipped);
    this.msg.ack();
    this.log.info({ trackingId }, 'shipment requested');
    return 'shipped';
  }

  /**
   * The agent is stopping: the message goes straight back for another agent, with no "delayed"
   * notice and no dead letter, and the release is recorded so that it costs the order no
   * delivery. Unrecorded (NATS trouble), it counts as one, as a delivery that died with its
   * agent does.
   */
  private async handBack(): Promise<DeliveryOutcome> {
    try {
      await this.deps.stopReleases.record(this.msg.seq, this.order.orderId, randomUUID());
    } catch (recordError) {
      this.log.warn({ err: recordError }, 'stop release not recorded; this delivery counts');
    }
    this.log.warn({ err: this.lastError ?? undefined, stopping: true }, PUT_BACK);
    this.msg.nak();
    return 'released';
  }

  /**
   * The last delivery failed, or the one before it died: the order goes to the dead-letter
   * stream (once per message of ORDERS: `<orderId>:<seq>` de-duplicates), becomes
   * SHIPPING_FAILED and the customer is told; then the message ends. The report waits for an
   * engine that can't be reached until the agent stops; then the message goes back, and the
   * next delivery (past the last, as JetStream never gives a message up: see streams.ts) does
   * it again.
   */
  private async deadLetter(reason: string): Promise<DeliveryOutcome | DeliveryFact> {
    const { msg, order, deps, log } = this;
    const letter: DeadLetterMessage = {
      ...order,
      deliveries: msg.info.deliveryCount,
      reason,
      at: deps.wallClockMs(),
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
      this.lastError = error;
      return { kind: 'failure_unrecorded' };
    }
    log.error(
      { deliveries: letter.deliveries, reason },
      'shipment dead-lettered: operator action needed (npm run replay-dead-letters)',
    );
    // A bare term: nats-server 2.9 ignores a term with a reason (the message would come back).
    msg.term();
    return 'dead_lettered';
  }

  private async retry(
    action: Extract<DeliveryAction, { kind: 'retry' }>,
  ): Promise<DeliveryOutcome> {
    if (action.reportDelayed) {
      const { order: delayed } = await this.waited(() =>
        this.deps.engine.report(this.order.orderId, 'SHIPPING_DELAYED', {
          message: 'Shipping will be arranged shortly.',
        }),
      );
      await this.deps.notifier.notify(delayed);
    }
    this.msg.nak(action.delayMs);
    this.logRetry(action);
    return action.outcome;
  }

  private logRetry(action: Extract<DeliveryAction, { kind: 'retry' }>): void {
    const retryInMs = action.delayMs;
    const err = this.lastError ?? undefined;
    switch (action.outcome) {
      case 'delayed':
      case 'breaker_open':
        this.log.warn(
          { reason: this.carrierReason, retryInMs },
          'shipment not requested yet; will retry',
        );
        return;
      case 'errored':
      case 'engine_unavailable':
        this.log.warn({ err, retryInMs }, PUT_BACK);
        return;
      case 'dead_lettered':
        this.log.error({ err }, 'dead-lettered, but SHIPPING_FAILED not recorded or announced yet');
        return;
      default: {
        const exhaustive: never = action.outcome;
        throw new Error(`unknown retry outcome ${JSON.stringify(exhaustive)}`);
      }
    }
  }
}
