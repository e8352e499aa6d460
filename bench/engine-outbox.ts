import { setTimeout as delay } from 'node:timers/promises';
import { requestJson } from '../scripts/client/http-json.js';

// Between two rows of a bench, the engine's outbox must have published the previous row's orders
// to JetStream: it works on after the load stops, and would otherwise take the next row's CPU.

const OUTBOX_DRAIN_WAIT_MS_MAX = 120_000;
const OUTBOX_POLL_MS = 200;

/** Waits until the engine's `flashsale_engine_outbox_backlog` (from its metrics URL) is 0. */
export async function outboxDrained(engineMetricsUrl: string): Promise<void> {
  const deadline = Date.now() + OUTBOX_DRAIN_WAIT_MS_MAX;
  for (;;) {
    const metrics = String((await requestJson(engineMetricsUrl)).body);
    const backlog = Number(/^flashsale_engine_outbox_backlog (\d+)/m.exec(metrics)?.[1] ?? NaN);
    if (backlog === 0) return;
    if (Date.now() > deadline) throw new Error(`the engine's outbox still holds ${backlog}`);
    await delay(OUTBOX_POLL_MS);
  }
}
