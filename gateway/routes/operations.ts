import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { ApiError } from '../errors.js';

// Probes, metrics and the OpenAPI document. None of these is rate limited or load shed: an
// orchestrator must be able to ask a busy gateway how it is.

export const OPERATIONS_PATHS = ['/health/live', '/health/ready', '/metrics', '/docs/openapi.json'];

export function registerOperationRoutes(app: FastifyInstance, context: GatewayContext): void {
  const hidden = { schema: { hide: true } };

  app.get('/health/live', hidden, async () => ({ status: 'ok' }));

  app.get('/health/ready', hidden, async () => {
    if (!context.natsConnected())
      throw new ApiError('ENGINE_UNAVAILABLE', 'Not ready: NATS is not connected.');
    return { status: 'ready' };
  });

  app.get('/metrics', hidden, async (_request, reply) => {
    const { registry } = context.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  app.get('/docs/openapi.json', hidden, async () => app.swagger());
}
