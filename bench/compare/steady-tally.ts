import { classifyReply, type PlacementOutcome } from '../../scripts/client/order-placement.js';
import type { MeasuredRun } from '../load/closed-loop.js';
import type { KeptReply } from '../load/load-recorder.js';
import { count, emptyTally, type Tally } from './tally.js';

// What the steady load's replies add up to. The generator keeps no reply's body in its timed loop
// but those asked for: every refusal (to sort it by its code) and every reply to a sample of the
// customers (their order ids, which the audit reads back). Every other 201 is counted by its
// status alone: one unit acknowledged, to a customer the audit does not read back. So the whole
// run's tally holds every unit acknowledged (I1's check) and the sampled buyers' orders (I2, I3).

/** A kept reply, sorted (JSON parsed here, after the timed loop). */
function outcomeOf(reply: KeptReply): PlacementOutcome {
  let body: unknown;
  try {
    body = JSON.parse(reply.body.toString('utf8'));
  } catch {
    body = null;
  }
  return classifyReply(reply.status, body);
}

/**
 * The tally of the whole run, for the audit, and of its measured window, for the table. Customer
 * of request i: i mod `poolSize`.
 */
export function steadyTallies(
  run: MeasuredRun,
  poolSize: number,
): { whole: Tally; measured: Tally } {
  const whole = emptyTally();
  const measured = emptyTally();
  let kept201 = 0;
  for (const reply of run.kept) {
    const outcome = outcomeOf(reply);
    if (reply.status === 201) kept201 += 1;
    // A replay (200): the pool went round and a customer sent its request, key and all, again.
    // Its order is the one counted the first time.
    if (outcome.kind === 'accepted' && outcome.status !== 201) {
      addTo(whole.byOutcome, `${outcome.status} replayed`, 1);
      if (reply.measured) addTo(measured.byOutcome, `${outcome.status} replayed`, 1);
      continue;
    }
    count(whole, reply.index % poolSize, 1, outcome);
    if (reply.measured && reply.status !== 201) count(measured, reply.index % poolSize, 1, outcome);
  }
  // The 201s of customers outside the sample: a unit each, no order id.
  const unkept201 = (run.allOutcomes['201'] ?? 0) - kept201;
  whole.acceptedUnits += unkept201;
  addTo(whole.byOutcome, '201 accepted', unkept201);
  for (const { index, error } of run.failures)
    count(whole, index % poolSize, 1, { kind: 'failed', reason: error });
  // The window's 201s and failures by their counts; its refusals were sorted above.
  const measured201 = run.outcomes['201'] ?? 0;
  measured.acceptedUnits += measured201;
  addTo(measured.byOutcome, '201 accepted', measured201);
  for (const [key, n] of Object.entries(run.outcomes))
    if (key.startsWith('failed')) addTo(measured.byOutcome, key, n);
  return { whole, measured };
}

function addTo(map: Map<string, number>, key: string, n: number): void {
  if (n > 0) map.set(key, (map.get(key) ?? 0) + n);
}
