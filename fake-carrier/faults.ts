import { type Static, Type } from '@sinclair/typebox';

// What can go wrong with one call to the fake carrier, and the draw that decides it. The same
// schema validates the environment's defaults and `PUT /admin/faults`.

/** The longest injected latency: beyond it a test would only be waiting. */
export const LATENCY_MS_CEILING = 60_000;

const Rate = Type.Number({ minimum: 0, maximum: 1 });

export const FaultsSchema = Type.Object(
  {
    /** Probability that a call fails with 503 CARRIER_ERROR and creates nothing. */
    failureRate: Rate,
    /** Each call waits a uniform random time in [0, latencyMsMax] ms first. */
    latencyMsMax: Type.Integer({ minimum: 0, maximum: LATENCY_MS_CEILING }),
    /** Probability that a call is never answered (held until the client gives up). */
    timeoutRate: Rate,
    /** Probability that a call creates its shipment but answers 500 (the reply is "lost"). */
    lostReplyRate: Rate,
  },
  { additionalProperties: false },
);

export type Faults = Static<typeof FaultsSchema>;

export const NO_FAULTS: Faults = {
  failureRate: 0,
  latencyMsMax: 0,
  timeoutRate: 0,
  lostReplyRate: 0,
};

/** What happens to one call once its latency has passed. */
export type CallFate = 'hold' | 'fail' | 'lose-reply' | 'succeed';

/** A uniform number in [0, 1), as Math.random; injectable so a test can decide the draws. */
export type Random = () => number;

export function drawLatencyMs(faults: Faults, random: Random): number {
  return faults.latencyMsMax === 0 ? 0 : Math.round(random() * faults.latencyMsMax);
}

/** One independent draw per fault, in the contract's order: the first that hits decides. */
export function drawFate(faults: Faults, random: Random): CallFate {
  if (random() < faults.timeoutRate) return 'hold';
  if (random() < faults.failureRate) return 'fail';
  if (random() < faults.lostReplyRate) return 'lose-reply';
  return 'succeed';
}
