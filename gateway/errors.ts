import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  type ErrorCode,
  type ErrorDetails,
  httpStatusOf,
  type Rejection,
  rejection,
} from '../engine/protocol/index.js';

// Every error the gateway sends comes from the one catalogue: `{"error": CODE, "message", ...}`
// with the catalogue's HTTP status, and `Retry-After` on the codes a client should retry.

const RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  'RATE_LIMITED',
  'OVERLOADED',
  'ENGINE_UNAVAILABLE',
]);

/** Thrown by handlers and hooks; the error handler turns it into the reply. */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: ErrorDetails,
    /** Seconds, for the retryable codes (the configured default when absent). */
    readonly retryAfterS?: number,
  ) {
    const why = rejection(code, message);
    super(why.message);
    this.statusCode = httpStatusOf(code);
  }

  static from(why: Rejection): ApiError {
    return new ApiError(why.code, why.message, why.details);
  }
}

export interface ErrorBody {
  readonly error: ErrorCode;
  readonly message: string;
  readonly [detail: string]: string | number;
}

export function errorBody(error: ApiError): ErrorBody {
  return { ...error.details, error: error.code, message: error.message };
}

export function sendError(reply: FastifyReply, error: ApiError, retryAfterS: number): FastifyReply {
  if (RETRYABLE.has(error.code))
    void reply.header('retry-after', String(error.retryAfterS ?? retryAfterS));
  return reply.code(error.statusCode).send(errorBody(error));
}

/**
 * Maps whatever reached Fastify's error handler onto the catalogue: our own errors as they are,
 * Fastify's request errors (schema, JSON, size, content type) as INVALID_REQUEST, anything else
 * as a logged 500 that reveals nothing.
 */
export function toApiError(error: FastifyError | ApiError, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  if (error.validation !== undefined) {
    const where = error.validationContext ?? 'request';
    return new ApiError('INVALID_REQUEST', `${where}${error.message.replace(/^\w+/, '')}`);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    if (status === 401) return new ApiError('UNAUTHORIZED', error.message);
    return new ApiError('INVALID_REQUEST', requestErrorMessage(error));
  }
  request.log.error({ err: error }, 'unexpected error');
  return new ApiError('INTERNAL_ERROR');
}

/**
 * Answers a request Node's HTTP parser refused before Fastify saw it (a control character in a
 * header, raw non-ASCII in the path, headers too large): INVALID_REQUEST, then the connection
 * closes, as Node's own handler does.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const why =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 'The request headers are too large.'
        : 'The request is not valid HTTP.';
    const body = JSON.stringify(errorBody(new ApiError('INVALID_REQUEST', why)));
    socket.write(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function requestErrorMessage(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The body is too large.';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'The body must be application/json.';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The body is empty; JSON expected.';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return error.message;
    default:
      return error.message || 'The request is not valid.';
  }
}
