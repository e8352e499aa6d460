// The one catalogue of errors the system can return: a stable code, its HTTP status and a default
// message. DESIGN.md's error table is this module's public face; handlers and the engine use these
// codes, tests assert on them. Pure data: the decision core imports it, so it has no I/O.
export const ERROR_CATALOGUE = {
  INVALID_REQUEST: { status: 400, message: 'The request is not valid.' },
  UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  SALE_NOT_FOUND: { status: 404, message: 'No such sale.' },
  ORDER_NOT_FOUND: { status: 404, message: 'No such order.' },
  /** No route matches the method and path (not in DESIGN.md's table: an HTTP-level error). */
  NOT_FOUND: { status: 404, message: 'No such route.' },
  SALE_NOT_OPEN: { status: 409, message: 'The sale is not open.' },
  SOLD_OUT: { status: 409, message: 'The sale is sold out.' },
  INSUFFICIENT_STOCK: { status: 409, message: 'Fewer units are left than you asked for.' },
  LIMIT_EXCEEDED: { status: 409, message: 'This order would pass the per-customer limit.' },
  NOT_ADMITTED: {
    status: 403,
    message: 'You are not admitted from the waiting room (or your admission expired).',
  },
  CHALLENGE_FAILED: {
    status: 403,
    message: 'The proof of work is not valid, has expired, or was already used.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    message: 'This Idempotency-Key was already used for a different request.',
  },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry later.' },
  OVERLOADED: { status: 503, message: 'The service is overloaded; retry later.' },
  /** A bug, logged with the request id; the body reveals nothing (not in DESIGN.md's table). */
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong on our side.' },
  ENGINE_UNAVAILABLE: { status: 503, message: 'No engine answers for this sale; retry later.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status;
}

/** Extra machine-readable fields that travel with an error (`remaining`, `limit`, …). */
export type ErrorDetails = Readonly<Record<string, string | number>>;

export interface Rejection {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: ErrorDetails;
}

export function rejection(code: ErrorCode, message?: string, details?: ErrorDetails): Rejection {
  const text = message ?? ERROR_CATALOGUE[code].message;
  return details === undefined ? { code, message: text } : { code, message: text, details };
}
