import { createHmac } from 'node:crypto';
import {
  type Challenge,
  createChallenge,
  type Payload,
  randomInt,
  verifySolution,
} from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { SOLUTION_ID_CHARS_MAX } from '../engine/protocol/index.js';
import type { GatewayConfig } from './config.js';
import { ApiError } from './errors.js';

// The waiting room's proof of work, self-hosted with altcha-lib (its v2 format, what the ALTCHA
// widget of the pinned version solves). A challenge is HMAC-signed, expires, and names the
// customer and the sale it is for, so a solution can't be moved to another account or sale.
// This module checks the work; whether the solution was already spent is the sale's engine's
// call (it keeps every spent id in its log, so the answer is the same through every gateway).

const ALGORITHM = 'SHA-256';
/** Bytes of a widget payload (base64 of the challenge and solution): ~1 KB in practice. */
export const SOLUTION_CHARS_MAX = 2_048;

type ProofOfWorkConfig = GatewayConfig['proofOfWork'];

/** The derived-key secret: its own key, derived so that one setting serves both HMACs. */
const keySecretOf = (config: ProofOfWorkConfig) =>
  createHmac('sha256', config.hmacSecret).update('altcha-derived-key').digest('hex');

export async function challengeFor(
  config: ProofOfWorkConfig,
  customerId: string,
  saleId: string,
  now: number,
): Promise<Challenge> {
  return createChallenge({
    algorithm: ALGORITHM,
    cost: config.cost,
    // Deterministic mode: the server picks how many attempts the solution takes (half the
    // maximum to all of it) and checks the answer with one HMAC instead of redoing the work.
    counter: randomInt(config.attemptsMax, Math.ceil(config.attemptsMax / 2)),
    deriveKey,
    data: { customerId, saleId },
    expiresAt: Math.floor(now / 1_000) + config.challengeTtlS,
    hmacSignatureSecret: config.hmacSecret,
    hmacKeySignatureSecret: keySecretOf(config),
  });
}

function parsePayload(solution: string): Payload | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(solution, 'base64').toString('utf8'));
    const payload = value as Partial<Payload> | null;
    if (typeof payload?.challenge?.parameters !== 'object' || payload.solution === undefined)
      return null;
    return payload as Payload;
  } catch {
    return null;
  }
}

/**
 * The solution's id (the challenge's nonce) once the work, the signature, the expiry and the
 * customer and sale it names all check out; CHALLENGE_FAILED otherwise.
 */
export async function verifiedSolutionId(
  config: ProofOfWorkConfig,
  solution: string,
  customerId: string,
  saleId: string,
): Promise<string> {
  const payload = parsePayload(solution);
  if (payload === null)
    throw new ApiError('CHALLENGE_FAILED', 'The solution is not an ALTCHA payload.');
  const { parameters } = payload.challenge;
  const result = await verifySolution({
    challenge: payload.challenge,
    solution: payload.solution,
    deriveKey,
    hmacSignatureSecret: config.hmacSecret,
    hmacKeySignatureSecret: keySecretOf(config),
  }).catch(() => null);
  if (result?.expired) throw new ApiError('CHALLENGE_FAILED', 'The challenge has expired.');
  if (result?.verified !== true)
    throw new ApiError('CHALLENGE_FAILED', 'The proof of work does not check out.');
  if (parameters.data?.customerId !== customerId || parameters.data?.saleId !== saleId)
    throw new ApiError('CHALLENGE_FAILED', 'The challenge was for another customer or sale.');
  const id = parameters.nonce;
  if (typeof id !== 'string' || id.length === 0 || id.length > SOLUTION_ID_CHARS_MAX)
    throw new ApiError('CHALLENGE_FAILED', 'The challenge has no usable id.');
  return id;
}
