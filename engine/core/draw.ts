import { sha256 } from './digest.js';

// The lobby's draw, documented so that anyone can re-run it (docs/architecture.md, "Waiting
// room"; scripts/draw.ts does): a Fisher–Yates shuffle of the lobby's entry ids in join order,
// from the last place down, each swap's index drawn from SHA-256 of `<seed>:<i>`:
//
//   for i = L-1 down to 1:  j = first6Bytes(SHA-256(`${seed}:${i}`)) mod (i + 1);  swap(i, j)
//
// The seed is 64 hex characters; `first6Bytes` reads the digest's first 6 bytes as a big-endian
// integer (48 bits, so the modulo's bias is below 2^-28 for a million entries). The shuffled
// list's k-th id (1-based) gets ticket k.

/** The random index of step `i`: in 0…i. */
export function drawIndex(seed: string, i: number): number {
  const digest = sha256(`${seed}:${i}`);
  let value = 0;
  for (let b = 0; b < 6; b += 1) value = value * 256 + (digest[b] as number);
  return value % (i + 1);
}

/** The lobby's items in ticket order: `shuffled[k - 1]` gets ticket k. Pure; copies the input. */
export function drawOrder<T>(seed: string, lobby: readonly T[]): T[] {
  const shuffled = [...lobby];
  for (let i = shuffled.length - 1; i >= 1; i -= 1) {
    const j = drawIndex(seed, i);
    const kept = shuffled[i] as T;
    shuffled[i] = shuffled[j] as T;
    shuffled[j] = kept;
  }
  return shuffled;
}
