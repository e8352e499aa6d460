import { startProgress } from '../cli/progress.js';
import { type LoadRun, runLoad } from '../client/load-runner.js';
import { type PlacementOutcome, placeOrder } from '../client/order-placement.js';
import type { TokenPool } from '../client/token-pool.js';
import type { PlannedOrder } from './plan.js';

// Sends a planned burst of orders through the HTTP API like real clients (order-placement.ts),
// round-robin over the gateways, at the chosen concurrency. None is retried here.

export interface BurstTarget {
  readonly gatewayUrls: readonly string[];
  readonly saleId: string;
  readonly tokens: TokenPool;
}

export function sendBurst(
  target: BurstTarget,
  plan: readonly PlannedOrder[],
  concurrency: number,
  progressLabel = 'orders',
): Promise<LoadRun<PlacementOutcome>> {
  const progress = startProgress(progressLabel, plan.length);
  const urls = target.gatewayUrls;
  return runLoad({
    total: plan.length,
    concurrency,
    send: (i) => {
      const order = plan[i]!;
      const token = target.tokens.token(order.customer);
      return placeOrder(urls[i % urls.length]!, target.saleId, token, order.quantity);
    },
    onAnswered: (answered) => progress.update(answered),
  }).finally(() => progress.finish());
}
