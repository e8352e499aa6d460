import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';
import { CUSTOMER_ID_CHARS_MAX, present } from '../engine/protocol/index.js';
import type { GatewayConfig } from './config.js';
import { ApiError } from './errors.js';

// Who is calling: a JWT in `Authorization: Bearer`, verified by @fastify/jwt (fast-jwt) with the
// algorithms pinned — HS256 with JWT_SECRET, or RS256/ES256 with JWT_PUBLIC_KEY — so `alg: none`
// and algorithm confusion are refused. The customer is the token's `sub`: nobody can buy as
// somebody else. WebSocket routes also take `?token=`, because browsers can't set headers there.

export interface Identity {
  readonly customerId: string;
  readonly admin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | null;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role?: string };
  }
}

// The scheme is case-insensitive (RFC 9110 §11.1): `bearer x.y.z` is as good as `Bearer x.y.z`.
const BEARER = /^Bearer ([A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*\.[A-Za-z0-9_=+/-]*)$/i;

/**
 * How long a verified token is remembered at most; never past its own `exp`/`nbf`, which
 * fast-jwt checks on every hit.
 */
const JWT_CACHE_TTL_MS = 600_000;

export async function registerAuth(app: FastifyInstance, config: GatewayConfig): Promise<void> {
  const { secret, publicKey, cacheTokensMax } = config.jwt;
  await app.register(fastifyJwt, {
    secret: publicKey ?? secret,
    verify: {
      algorithms: publicKey === null ? ['HS256'] : ['RS256', 'ES256'],
      // A token without `exp` would be good for ever, even leaked (a ?token= in a proxy's log).
      requiredClaims: ['exp'],
      // In a burst each customer presses again and again with the same token: verifying it once
      // saves the HMAC and the decoding (a quarter of a sold-out refusal's CPU). The cache is keyed
      // by the token's exact text, so only those very bytes, already verified, can hit it; a
      // refused token is never answered from it.
      ...(cacheTokensMax > 0
        ? { cache: cacheTokensMax, cacheTTL: JWT_CACHE_TTL_MS, cacheKeyBuilder: (token) => token }
        : {}),
    },
  });
  app.decorateRequest('identity', null);
}

function tokenOf(request: FastifyRequest, allowQuery: boolean): string {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = BEARER.exec(header);
    const token = match?.[1];
    if (token === undefined)
      throw new ApiError('UNAUTHORIZED', 'The Authorization header must be "Bearer <JWT>".');
    return token;
  }
  const query = (request.query as { token?: unknown } | undefined)?.token;
  if (allowQuery && typeof query === 'string') return query;
  throw new ApiError('UNAUTHORIZED', 'A bearer token is required (Authorization: Bearer <JWT>).');
}

/** Verifies the caller's token and sets `request.identity`; throws UNAUTHORIZED otherwise. */
export function authenticate(request: FastifyRequest, allowQuery = false): Identity {
  const token = tokenOf(request, allowQuery);
  let claims: { sub?: unknown; role?: unknown };
  try {
    claims = request.server.jwt.verify(token);
  } catch (error) {
    throw new ApiError('UNAUTHORIZED', `The token was refused: ${(error as Error).message}.`);
  }
  const { sub, role } = claims;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > CUSTOMER_ID_CHARS_MAX)
    throw new ApiError(
      'UNAUTHORIZED',
      `The token needs a "sub" of 1-${CUSTOMER_ID_CHARS_MAX} characters.`,
    );
  const identity = { customerId: sub, admin: role === 'admin' };
  request.identity = identity;
  return identity;
}

/**
 * The preValidation hook of customer routes. A callback, not an async function: on the order
 * route every promise per request shows in the profile.
 */
export const requireCustomer: preValidationHookHandler = (request, _reply, done) => {
  authenticate(request);
  done();
};

/** The caller of a route behind `requireCustomer`, which has set it. */
export function customerOf(request: FastifyRequest): string {
  return present(request.identity, 'the identity requireCustomer set').customerId;
}

export function requireAdmin(request: FastifyRequest): Identity {
  const identity = authenticate(request);
  if (!identity.admin) throw new ApiError('FORBIDDEN', 'This route needs an admin token.');
  return identity;
}
