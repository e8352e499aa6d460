import { type Challenge, solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { type JsonReply, requestJson } from '../client/http-json.js';

// A customer of a waiting room, as the live page's ALTCHA widget is: fetch a challenge, solve it
// (altcha-lib, the same work the widget does), join with the widget's payload. The burst's
// waiting-room mode and the tests use it.

/** A solve that takes longer than this is given up (POW_ATTEMPTS_MAX set far too high). */
export const SOLVE_TIMEOUT_MS = 60_000;

/** The widget's payload for a challenge: base64 of {challenge, solution}. */
export async function solvedPayload(challenge: Challenge): Promise<string> {
  const solution = await solveChallenge({ challenge, deriveKey, timeout: SOLVE_TIMEOUT_MS });
  if (solution === null) throw new Error('the proof-of-work challenge was not solved in time');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}

/** GET the caller's challenge and solve it: the payload to join with. */
export async function solveFor(baseUrl: string, token: string, saleId: string): Promise<string> {
  const reply = await requestJson(`${baseUrl}/v1/sales/${saleId}/queue/challenge`, { token });
  if (reply.status !== 200)
    throw new Error(`no challenge for ${saleId}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return solvedPayload(reply.body as Challenge);
}

export function joinQueue(
  baseUrl: string,
  token: string,
  saleId: string,
  solution: string,
): Promise<JsonReply> {
  return requestJson(`${baseUrl}/v1/sales/${saleId}/queue`, {
    method: 'POST',
    token,
    body: { solution },
  });
}
