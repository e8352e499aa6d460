import { createSigner } from 'fast-jwt';

// Minting HS256 tokens the gateway accepts (development, tests, the burst tool). Production tokens
// come from the shop's identity provider; the gateway only verifies them.

export const TOKEN_TTL_S_DEFAULT = 24 * 3_600;

export interface TokenClaims {
  readonly sub: string;
  readonly role?: 'admin';
  /** Seconds until it expires; negative mints an already expired token (tests). */
  readonly ttlS?: number;
}

export function mintToken(secret: string, claims: TokenClaims): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: claims.sub,
    iat: now,
    exp: now + (claims.ttlS ?? TOKEN_TTL_S_DEFAULT),
  };
  if (claims.role !== undefined) payload.role = claims.role;
  return createSigner({ key: secret, algorithm: 'HS256' })(payload);
}
