import type { FastifyRequest } from 'fastify';

// What the gateway's request log lines say about a request: Fastify's own fields, with a bearer
// token given in the query (`/v1/me/live?token=…`, for browsers that can't set headers on a
// WebSocket) taken out of the URL. A log is read by more people, and kept longer, than a token
// should be: anyone holding it could act as that customer until it expires.

const TOKEN_IN_QUERY = /([?&]token=)[^&#]*/gi;

export function withoutToken(url: string): string {
  return url.replace(TOKEN_IN_QUERY, '$1[redacted]');
}

export const gatewayLogSerializers = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: withoutToken(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }),
};
