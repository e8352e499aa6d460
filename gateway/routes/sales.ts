import type { FastifyInstance } from 'fastify';
import { requireAdmin, requireCustomer } from '../auth.js';
import type { GatewayContext } from '../context.js';
import { ApiError } from '../errors.js';
import {
  type ConfigureSaleBody,
  ConfigureSaleBody as ConfigureSaleSchema,
  MyOrders,
  replies,
  Sale,
  SaleIdParams,
} from '../schemas.js';
import { myOrdersJson, saleJson } from '../views.js';
import { followSale } from './follow-sale.js';

// Reading a sale (public), the caller's orders in a sale, and creating or changing a sale (admin).

export function registerSaleRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { engine } = context;

  app.get<{ Params: { saleId: string } }>(
    '/v1/sales/:saleId',
    {
      schema: {
        summary: 'A sale: stock, remaining, limit, window and status',
        tags: ['sales'],
        params: SaleIdParams,
        response: replies({ 200: Sale }, [404, 503]),
      },
    },
    async (request) => {
      const { saleId } = request.params;
      const answer = await engine.query(saleId, { type: 'GetSale' });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'sale') throw new Error(`unexpected reply kind ${answer.kind}`);
      followSale(context, saleId, answer.sale);
      return saleJson(answer.sale);
    },
  );

  app.get<{ Params: { saleId: string } }>(
    '/v1/sales/:saleId/me',
    {
      schema: {
        summary: "The caller's units and orders in a sale (what the live page shows on load)",
        tags: ['orders'],
        security: [{ bearer: [] }],
        params: SaleIdParams,
        response: replies({ 200: MyOrders }, [401, 404, 429, 503]),
      },
      config: { rateLimit: {} },
      preValidation: requireCustomer,
    },
    async (request) => {
      const { saleId } = request.params;
      const answer = await engine.query(saleId, {
        type: 'GetCustomer',
        customerId: request.identity!.customerId,
      });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'customer') throw new Error(`unexpected reply kind ${answer.kind}`);
      return myOrdersJson(answer.customer);
    },
  );

  app.put<{ Params: { saleId: string }; Body: ConfigureSaleBody }>(
    '/v1/admin/sales/:saleId',
    {
      schema: {
        summary: 'Create a sale (201) or change it (200)',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: SaleIdParams,
        body: ConfigureSaleSchema,
        response: replies({ 200: Sale, 201: Sale }, [401, 403, 503]),
      },
      preValidation: async (request) => {
        requireAdmin(request);
      },
    },
    async (request, reply) => {
      const { saleId } = request.params;
      const { name, stock, perCustomerLimit, startsAt, endsAt } = request.body;
      const answer = await engine.command(saleId, {
        type: 'ConfigureSale',
        name,
        stock,
        perCustomerLimit,
        startsAt: instantMs(startsAt),
        endsAt: instantMs(endsAt),
      });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'sale') throw new Error(`unexpected reply kind ${answer.kind}`);
      followSale(context, saleId, answer.sale);
      return reply.code(answer.created ? 201 : 200).send(saleJson(answer.sale));
    },
  );
}

function instantMs(value: string | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms < 0)
    throw new ApiError('INVALID_REQUEST', `Not a valid instant: ${value}`);
  return ms;
}
