import t from 'tap';
import { ApiError } from '../gateway/errors.js';
import { challengeFor, verifiedSolutionId } from '../gateway/proof-of-work.js';
import { solvedPayload } from '../scripts/burst/waiting-room.js';

// The waiting room's proof of work, in-process: a solved challenge gives its id; an expired,
// tampered, misdirected or unsolved one is CHALLENGE_FAILED.

const CONFIG = {
  hmacSecret: 'test-pow-secret-0123456789',
  cost: 1,
  attemptsMax: 20,
  challengeTtlS: 60,
};

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'verified';
}

t.test('a solved challenge gives its nonce, for its customer and sale only', async (t) => {
  const challenge = await challengeFor(CONFIG, 'alice', 'drop', Date.now());
  const payload = await solvedPayload(challenge);
  const id = await verifiedSolutionId(CONFIG, payload, 'alice', 'drop');
  t.equal(id, challenge.parameters.nonce);
  t.match(
    await failure(verifiedSolutionId(CONFIG, payload, 'bob', 'drop')),
    /CHALLENGE_FAILED: .*another customer/,
  );
  t.match(await failure(verifiedSolutionId(CONFIG, payload, 'alice', 'other')), /CHALLENGE_FAILED/);
  const otherSecret = { ...CONFIG, hmacSecret: 'another-secret-0123456789' };
  t.match(
    await failure(verifiedSolutionId(otherSecret, payload, 'alice', 'drop')),
    /CHALLENGE_FAILED/,
  );
});

t.test('expired, tampered or unsolved: CHALLENGE_FAILED', async (t) => {
  const old = await challengeFor(CONFIG, 'alice', 'drop', Date.now() - 120_000);
  const expired = await solvedPayload(old);
  t.match(await failure(verifiedSolutionId(CONFIG, expired, 'alice', 'drop')), /expired/);
  const challenge = await challengeFor(CONFIG, 'alice', 'drop', Date.now());
  const decoded = JSON.parse(Buffer.from(await solvedPayload(challenge), 'base64').toString());
  decoded.challenge.parameters.data.customerId = 'mallory';
  const tampered = Buffer.from(JSON.stringify(decoded)).toString('base64');
  t.match(
    await failure(verifiedSolutionId(CONFIG, tampered, 'mallory', 'drop')),
    /does not check out/,
  );
  decoded.challenge.parameters.data.customerId = 'alice';
  decoded.solution.derivedKey = '00'.repeat(32);
  const unsolved = Buffer.from(JSON.stringify(decoded)).toString('base64');
  t.match(
    await failure(verifiedSolutionId(CONFIG, unsolved, 'alice', 'drop')),
    /does not check out/,
  );
  t.match(
    await failure(verifiedSolutionId(CONFIG, 'bm90IGpzb24=', 'alice', 'drop')),
    /not an ALTCHA/,
  );
});
