import { setTimeout as delay } from 'node:timers/promises';
import { createSale } from './retrying-client.js';
import { type BurstResult, runBurst } from './round-burst.js';
import type { RoundPlan } from './round-plan.js';
import type { ChaosTarget, VictimStack } from './victim-stack.js';

// One round of full-stack chaos: its sale opened through the gateways, its burst sent, and its
// victim SIGKILLed once the burst has had the planned number of answers, then restarted after
// the planned downtime (a carrier outage with it, if planned); what the round did, as a line.

export interface RoundSummary {
  readonly round: number;
  readonly saleId: string;
  readonly victim: ChaosTarget;
  readonly carrierOutageMs: number;
  readonly orders: number;
  readonly killAfterAnswers: number;
  /** From the SIGKILL until the restarted process served again. */
  readonly outageMs: number;
  readonly acknowledged: number;
  /** Acknowledged with 200 on a retry: an earlier attempt was accepted, its answer lost. */
  readonly recoveredByReplay: number;
  readonly refused: number;
  readonly gaveUp: number;
  readonly retried: number;
  /** Processes found dead on their own after the round (restarted). */
  readonly revived: readonly ChaosTarget[];
}

export interface RoundResult {
  readonly summary: RoundSummary;
  readonly burst: BurstResult;
}

export async function runRound(
  plan: RoundPlan,
  sale: { readonly stock: number; readonly perCustomerLimit: number },
  stack: VictimStack,
  adminToken: string,
): Promise<RoundResult> {
  // Through the gateways and the engine: also the sign that the stack serves again.
  await createSale(stack.gatewayUrls, adminToken, plan.saleId, sale, Math.random);
  let chaos: Promise<number> | null = null;
  const strike = (): Promise<number> => {
    if (chaos === null) {
      chaos = killAndRestart(stack, plan);
      // Awaited below once the burst is over; until then a failure must not count as unhandled.
      chaos.catch(() => undefined);
    }
    return chaos;
  };
  const burst = await runBurst(plan.orders, stack.gatewayUrls, (answered) => {
    if (answered >= plan.killAfterAnswers) void strike();
  });
  const outageMs = await strike();
  const revived = await stack.reviveCrashed();
  return {
    burst,
    summary: {
      round: plan.round,
      saleId: plan.saleId,
      victim: plan.victim,
      carrierOutageMs: plan.carrierOutageMs,
      orders: plan.orders.length,
      killAfterAnswers: plan.killAfterAnswers,
      outageMs,
      acknowledged: burst.acknowledged.length,
      recoveredByReplay: burst.acknowledged.filter((a) => a.status === 200).length,
      refused: burst.refused,
      gaveUp: burst.gaveUp.length,
      retried: burst.retried,
      revived,
    },
  };
}

/** SIGKILL, a planned downtime, restart; answers the whole outage in ms. */
async function killAndRestart(stack: VictimStack, plan: RoundPlan): Promise<number> {
  const killedAt = performance.now();
  // The carrier ends its outage by itself; shipping goes on meanwhile (or gives up, visibly).
  if (plan.carrierOutageMs > 0) await stack.carrier.startOutage(plan.carrierOutageMs);
  await stack.kill(plan.victim);
  await delay(plan.downtimeMs);
  await stack.restart(plan.victim);
  return performance.now() - killedAt;
}

export function roundLine(
  summary: RoundSummary,
  rounds: number,
  acknowledgedSoFar: number,
): string {
  const revived =
    summary.revived.length === 0 ? '' : `; FOUND DEAD and restarted: ${summary.revived.join(', ')}`;
  return (
    `round ${summary.round + 1}/${rounds}: killed ${summary.victim} after ` +
    `${summary.killAfterAnswers}/${summary.orders} answers, back in ${Math.round(summary.outageMs)} ms` +
    (summary.carrierOutageMs > 0 ? `, carrier down ${summary.carrierOutageMs} ms` : '') +
    '; ' +
    `${summary.acknowledged} acknowledged (${summary.recoveredByReplay} via replay), ` +
    `${summary.refused} refused, ${summary.gaveUp} gave up, ${summary.retried} retried; ` +
    `${acknowledgedSoFar} acknowledged so far${revived}`
  );
}
