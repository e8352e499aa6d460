import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { ApiError } from '../errors.js';
import { replies, SaleListing } from '../schemas.js';

// `GET /v1/sales`: every sale of the catalogue with its name and status, as its engine says now
// (null for both while no engine answers for it). Public, like each sale's own page. The engines
// are asked side by side; a listing of many sales costs one round trip per sale, bounded by the
// catalogue reader's SALES_LISTED_MAX.

export function registerSaleList(app: FastifyInstance, context: GatewayContext): void {
  const { engine, catalogue } = context;
  app.get(
    '/v1/sales',
    {
      schema: {
        summary: 'The sales: id, name and status',
        tags: ['sales'],
        response: replies({ 200: SaleListing }, [503]),
      },
    },
    async () => {
      const entries = await catalogue.list().catch((error: unknown) => {
        throw new ApiError('ENGINE_UNAVAILABLE', `The catalogue can't be read: ${String(error)}`);
      });
      const sales = await Promise.all(
        entries.map(async ({ saleId }) => {
          const answer = await engine.query(saleId, { type: 'GetSale' }).catch(() => null);
          if (answer?.ok && answer.kind === 'sale')
            return { saleId, name: answer.sale.name, status: answer.sale.status };
          // Placed or pinned, and not configured yet: not a sale anyone can see.
          if (answer !== null && !answer.ok && answer.error.code === 'SALE_NOT_FOUND') return null;
          return { saleId, name: null, status: null };
        }),
      );
      return { sales: sales.filter((sale) => sale !== null) };
    },
  );
}
