import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { ConfirmedOrderMessage } from '../engine/protocol/index.js';
import { countedDeliveries, type Standing } from './delivery-budget.js';
import type { StopReleases } from './stop-releases.js';

// The facts behind a delivery's standing against its budget (delivery-budget.ts), read once per
// delivery where they can matter.

export interface StandingDeps {
  readonly stopReleases: Pick<StopReleases, 'handedBack'>;
  readonly maxDeliver: number;
  /** SHIPPING_DEADLINE_MS; 0: none. */
  readonly deadlineMs: number;
  readonly stopping: () => boolean;
  /** The wall clock in ms since the epoch, against the time ORDERS stored the message. */
  readonly wallClockMs: () => number;
}

/**
 * Where this delivery stands against the budget, for each decision. The stop releases are read
 * only where they can change one (from the last delivery on), and once per delivery; unreadable,
 * they count as deliveries: the order may be dead-lettered sooner, never lost.
 */
export function standingOf(
  msg: JsMsg,
  order: ConfirmedOrderMessage,
  deps: StandingDeps,
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
    const { maxDeliver, deadlineMs } = deps;
    // The stream's clock against ours: a skew of seconds moves the deadline by as much.
    const ageMs = Math.max(0, deps.wallClockMs() - msg.time.getTime());
    const stopping = deps.stopping();
    if (stopping || deliveryCount < maxDeliver)
      return { counted: deliveryCount, maxDeliver, stopping, ageMs, deadlineMs };
    handedBack ??= readHandedBack();
    const counted = countedDeliveries(deliveryCount, await handedBack);
    return { counted, maxDeliver, stopping: deps.stopping(), ageMs, deadlineMs };
  };
}
