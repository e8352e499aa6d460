import type { Logger } from 'pino';
import { ENGINE_RETRY_DELAY_MS } from './delivery-decision.js';
import { EngineUnavailableError } from './engine-reports.js';

// A delivery's calls to an engine that can't be reached (it is restarting or failing over) are
// tried again every ENGINE_RETRY_DELAY_MS until a deadline, rather than handing the message back:
// a restart is our own hiccup, not the carrier's, and each hand-back spends a redelivery.

export interface EngineWaitDeps {
  /** Resolves after `ms` unless the agent stops first (then at once). */
  readonly pause: (ms: number) => Promise<void>;
  readonly stopping: () => boolean;
  /** A monotonic clock in ms, for the deadlines. */
  readonly monotonicMs: () => number;
  /** A delivery starts waiting for an engine that doesn't answer: its slot is free meanwhile. */
  readonly engineWaitStarted: () => void;
  /** Its wait is over: resolves once it has a slot again (the agent's bound on working ones). */
  readonly engineWaitEnded: () => Promise<void>;
}

/** Whether to try the engine again after `error`: it is away, the agent runs, time is left. */
export function waitOnEngine(
  error: unknown,
  stopping: boolean,
  nowMs: number,
  giveUpAtMs: number,
): boolean {
  return (
    error instanceof EngineUnavailableError &&
    !stopping &&
    nowMs + ENGINE_RETRY_DELAY_MS <= giveUpAtMs
  );
}

/**
 * Runs `work` again while the engine can't be reached, each ENGINE_RETRY_DELAY_MS, until
 * `giveUpAtMs` (on `monotonicMs`) or the agent stops; then the last error goes to the caller.
 * Any other error goes at once. `onFirstWait` hears of the first wait (to log it). While it
 * waits the delivery leaves its slot to others; it takes one again before it goes on.
 */
export async function retryWhileEngineAway<T>(
  deps: EngineWaitDeps,
  giveUpAtMs: number,
  work: () => Promise<T>,
  onFirstWait: (error: EngineUnavailableError) => void = () => {},
): Promise<T> {
  let waiting = false;
  try {
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (!waitOnEngine(error, deps.stopping(), deps.monotonicMs(), giveUpAtMs)) throw error;
        if (!waiting) {
          deps.engineWaitStarted();
          waiting = true;
          onFirstWait(error as EngineUnavailableError);
        }
        await deps.pause(ENGINE_RETRY_DELAY_MS);
        if (deps.stopping()) throw error;
      }
    }
  } finally {
    if (waiting) await deps.engineWaitEnded();
  }
}

/** Runs one engine call, waiting for an engine that can't be reached until `giveUpAtMs`. */
export type WaitForEngine = <T>(call: () => Promise<T>, giveUpAtMs?: number) => Promise<T>;

/**
 * The engine calls of one delivery wait for an engine that can't be reached, until
 * `deliveryGiveUpAtMs` unless a call says otherwise. Handing the message back instead would
 * spend a redelivery a second and dead-letter orders within maxDeliver seconds. Only the call is
 * repeated, never a carrier call made before it. The first wait is logged.
 */
export function waitForEngine(
  deps: EngineWaitDeps,
  log: Logger,
  deliveryGiveUpAtMs: number,
): WaitForEngine {
  let announced = false;
  const onWait = (error: EngineUnavailableError) => {
    if (announced) return;
    announced = true;
    log.warn({ err: error }, 'engine unavailable; waiting for it');
  };
  return (call, giveUpAtMs = deliveryGiveUpAtMs) =>
    retryWhileEngineAway(deps, giveUpAtMs, call, onWait);
}
