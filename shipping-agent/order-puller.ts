import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { DeliverySlots } from './delivery-slots.js';

// The agent's pull loop on the durable consumer `shipping`. It pulls only as many messages as
// there are free slots: a message waiting in a client-side buffer would keep its ack_wait running
// and come back to another agent as a duplicate.

/** A pull waits this long for messages before asking again (an idle agent's heartbeat). */
export const FETCH_EXPIRES_MS = 5_000;
/** Pause after a failed pull (NATS reconnecting, the consumer being recreated). */
export const FETCH_RETRY_MS = 1_000;

export interface PullerOptions {
  readonly slots: DeliverySlots;
  /** Takes one pulled message in hand (it may wait there for a slot). */
  readonly start: (msg: JsMsg) => void;
  /** Aborted when the agent stops: no new pulls. */
  readonly signal: AbortSignal;
  /** Resolves after `ms` unless the agent stops first (then at once). */
  readonly pause: (ms: number) => Promise<void>;
  readonly logger: Logger;
}

export interface Puller {
  /** Ends the pull under way; resolves once the loop has ended. Call after `signal` aborted. */
  stop(): Promise<void>;
}

export function pullOrders(consumer: Consumer, options: PullerOptions): Puller {
  const { slots, start, signal, pause, logger } = options;
  let batch: ConsumerMessages | null = null;
  const loop = (async () => {
    while (!signal.aborted) {
      const free = slots.room();
      if (free <= 0) {
        await slots.whenRoom();
        continue;
      }
      try {
        batch = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        for await (const msg of batch) start(msg);
      } catch (error) {
        if (signal.aborted) break;
        logger.warn({ err: error }, 'pulling from ORDERS failed; retrying');
        await pause(FETCH_RETRY_MS);
      } finally {
        batch = null;
      }
    }
  })();
  return {
    async stop() {
      slots.wake();
      await (batch as ConsumerMessages | null)?.close();
      await loop;
    },
  };
}
