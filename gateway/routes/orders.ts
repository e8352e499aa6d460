import type { FastifyInstance } from 'fastify';
import { present, saleIdOfOrderId } from '../../engine/protocol/index.js';
import { customerOf, requireCustomer } from '../auth.js';
import type { GatewayContext } from '../context.js';
import { ApiError, sendError } from '../errors.js';
import {
  Order,
  OrderHeaders,
  OrderIdParams,
  PlaceOrderBody,
  replies,
  SaleIdParams,
} from '../schemas.js';
import { orderJson } from '../views.js';
import { followSale } from './follow-sale.js';

// Placing and reading orders. Only the engine ever accepts an order; the gateway may refuse one
// itself when the sale is known to be sold out (and the request is not an idempotent retry, whose
// answer is the original order, sold out or not).

/**
 * The refusal the sold-out fast path sends, built once: an Error per refusal (its stack trace)
 * and the trip through the error handler were a fifth of the gateway's CPU on this path.
 */
const SOLD_OUT_FROM_CACHE = new ApiError('SOLD_OUT');

export function registerOrderRoutes(app: FastifyInstance, context: GatewayContext): void {
  registerPlaceOrder(app, context);
  registerReadOrder(app, context);
}

function registerPlaceOrder(app: FastifyInstance, context: GatewayContext): void {
  const { engine, feeds, metrics } = context;
  app.post<{
    Params: { saleId: string };
    Body: PlaceOrderBody;
    Headers: { 'idempotency-key'?: string };
  }>(
    '/v1/sales/:saleId/orders',
    {
      schema: {
        summary: 'Place an order',
        tags: ['orders'],
        security: [{ bearer: [] }],
        params: SaleIdParams,
        headers: OrderHeaders,
        body: PlaceOrderBody,
        response: replies({ 200: Order, 201: Order }, [401, 404, 409, 422, 429, 503]),
      },
      config: { rateLimit: {} },
      preValidation: requireCustomer,
    },
    async (request, reply) => {
      const customerId = customerOf(request);
      const { saleId } = request.params;
      const { quantity } = request.body;
      const idempotencyKey = request.headers['idempotency-key'];
      if (idempotencyKey === undefined && feeds.isSoldOut(saleId)) {
        metrics.soldOutFastPath.inc();
        return sendError(reply, SOLD_OUT_FROM_CACHE, context.config.retryAfterS);
      }
      const answer = await engine.placeOrder(saleId, {
        type: 'PlaceOrder',
        customerId,
        quantity,
        // The key is bound to the request's content: the same key with another body is refused.
        ...(idempotencyKey === undefined ? {} : { idempotencyKey, requestHash: `q=${quantity}` }),
      });
      if (!answer.ok) {
        if (answer.error.code !== 'SALE_NOT_FOUND') followSale(context, saleId);
        throw ApiError.from(answer.error);
      }
      if (answer.kind !== 'order') throw new Error(`unexpected reply kind ${answer.kind}`);
      followSale(context, saleId);
      return reply.code(answer.replayed ? 200 : 201).send(orderJson(answer.order));
    },
  );
}

function registerReadOrder(app: FastifyInstance, context: GatewayContext): void {
  const { engine } = context;
  app.get<{ Params: { orderId: string } }>(
    '/v1/orders/:orderId',
    {
      schema: {
        summary: "The caller's order, with its status and history",
        tags: ['orders'],
        security: [{ bearer: [] }],
        params: OrderIdParams,
        response: replies({ 200: Order }, [401, 403, 404, 429, 503]),
      },
      config: { rateLimit: {} },
      preValidation: requireCustomer,
    },
    async (request) => {
      const identity = present(request.identity, 'the identity requireCustomer set');
      const { orderId } = request.params;
      const saleId = saleIdOfOrderId(orderId);
      if (saleId === null) throw new ApiError('INVALID_REQUEST', 'Not an orderId.');
      const answer = await engine.query(saleId, { type: 'GetOrder', orderId });
      if (!answer.ok) throw ApiError.from(answer.error);
      if (answer.kind !== 'order') throw new Error(`unexpected reply kind ${answer.kind}`);
      if (answer.order.customerId !== identity.customerId && !identity.admin)
        throw new ApiError('FORBIDDEN', 'This order belongs to another customer.');
      return orderJson(answer.order);
    },
  );
}
