import fastifyJwt from '@fastify/jwt';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { saleIdOfOrderId } from '../../engine/protocol/index.js';
import { authenticate, requireAdmin } from '../../gateway/auth.js';
import { ApiError, sendError, toApiError } from '../../gateway/errors.js';
import {
  type ConfigureSaleBody,
  ConfigureSaleBody as ConfigureSaleSchema,
  MyOrders,
  Order,
  OrderHeaders,
  OrderIdParams,
  PlaceOrderBody,
  replies,
  Sale,
  SaleIdParams,
} from '../../gateway/schemas.js';
import type { OrderDesk } from './place-order.js';
import type { SaleSettingsCache } from './sale-settings-cache.js';
import { configureSale, customerOrders, readOrder, readSale } from './sale-store.js';
import { orderBody, saleBody } from './views.js';

// The conventional server's HTTP face: the routes bench:compare uses, with our gateway's own
// schemas, token checks, error catalogue and views, so clients can't tell the two apart by
// anything but speed. What differs is behind the routes: Redis counter + lock + PostgreSQL.
// Built as named steps: the app and its error handling, then each route.

export interface ConventionalParts {
  readonly pool: pg.Pool;
  readonly desk: OrderDesk;
  readonly sales: SaleSettingsCache;
  readonly jwtSecret: string;
  readonly retryAfterS: number;
  readonly logLevel: string;
}

const BODY_BYTES_MAX = 4_096;

function instantMs(value: string | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms < 0)
    throw new ApiError('INVALID_REQUEST', `Not a valid instant: ${value}`);
  return ms;
}

export async function buildConventionalApp(parts: ConventionalParts): Promise<FastifyInstance> {
  const { retryAfterS } = parts;
  const app = Fastify({
    logger: { level: parts.logLevel },
    bodyLimit: BODY_BYTES_MAX,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  await app.register(fastifyJwt, { secret: parts.jwtSecret, verify: { algorithms: ['HS256'] } });
  app.decorateRequest('identity', null);
  app.setErrorHandler((error, request, reply) =>
    sendError(reply, toApiError(error as FastifyError, request), retryAfterS),
  );
  app.setNotFoundHandler((_request, reply) =>
    sendError(reply, new ApiError('NOT_FOUND'), retryAfterS),
  );

  app.get('/health/ready', async () => ({ status: 'ready' }));
  registerAdminRoute(app, parts);
  registerOrderRoute(app, parts);
  registerSaleReads(app, parts);
  registerOrderRead(app, parts);
  return app;
}

function registerAdminRoute(app: FastifyInstance, { pool, sales }: ConventionalParts): void {
  app.put<{ Params: { saleId: string }; Body: ConfigureSaleBody }>(
    '/v1/admin/sales/:saleId',
    {
      schema: {
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
      const configured = await configureSale(pool, saleId, {
        name,
        stock,
        perCustomerLimit,
        startsAt: instantMs(startsAt),
        endsAt: instantMs(endsAt),
      });
      if (!configured.ok) throw ApiError.from(configured.rejection);
      sales.forget(saleId);
      return reply.code(configured.created ? 201 : 200).send(saleBody(configured.sale));
    },
  );
}

function registerOrderRoute(app: FastifyInstance, { desk }: ConventionalParts): void {
  app.post<{
    Params: { saleId: string };
    Body: PlaceOrderBody;
    Headers: { 'idempotency-key'?: string };
  }>(
    '/v1/sales/:saleId/orders',
    {
      schema: {
        params: SaleIdParams,
        headers: OrderHeaders,
        body: PlaceOrderBody,
        response: replies({ 200: Order, 201: Order }, [401, 404, 409, 422, 503]),
      },
      preValidation: async (request) => {
        authenticate(request);
      },
    },
    async (request, reply) => {
      const outcome = await desk.place({
        saleId: request.params.saleId,
        customerId: request.identity!.customerId,
        quantity: request.body.quantity,
        idempotencyKey: request.headers['idempotency-key'] ?? null,
        at: Date.now(),
      });
      switch (outcome.kind) {
        case 'placed':
          return reply.code(201).send(orderBody(outcome.order));
        case 'replayed':
          return reply.code(200).send(orderBody(outcome.order));
        case 'rejected':
          throw ApiError.from(outcome.rejection);
        case 'busy':
          throw new ApiError('OVERLOADED', 'Another order of yours is being placed; retry.');
        case 'lock-lost':
          throw new ApiError('OVERLOADED', 'The order took too long and was not placed; retry.');
      }
    },
  );
}

function registerSaleReads(app: FastifyInstance, { pool, sales }: ConventionalParts): void {
  app.get<{ Params: { saleId: string } }>(
    '/v1/sales/:saleId',
    { schema: { params: SaleIdParams, response: replies({ 200: Sale }, [404]) } },
    async (request) => {
      const sale = await readSale(pool, request.params.saleId);
      if (sale === null) throw new ApiError('SALE_NOT_FOUND');
      return saleBody(sale);
    },
  );

  app.get<{ Params: { saleId: string } }>(
    '/v1/sales/:saleId/me',
    {
      schema: { params: SaleIdParams, response: replies({ 200: MyOrders }, [401, 404]) },
      preValidation: async (request) => {
        authenticate(request);
      },
    },
    async (request) => {
      const { saleId } = request.params;
      const customerId = request.identity!.customerId;
      if ((await sales.get(saleId)) === null) throw new ApiError('SALE_NOT_FOUND');
      const orders = await customerOrders(pool, saleId, customerId);
      return {
        saleId,
        customerId,
        purchased: orders.reduce((units, order) => units + order.quantity, 0),
        orders: orders.map(orderBody),
      };
    },
  );
}

function registerOrderRead(app: FastifyInstance, { pool }: ConventionalParts): void {
  app.get<{ Params: { orderId: string } }>(
    '/v1/orders/:orderId',
    {
      schema: { params: OrderIdParams, response: replies({ 200: Order }, [401, 403, 404]) },
      preValidation: async (request) => {
        authenticate(request);
      },
    },
    async (request) => {
      const { orderId } = request.params;
      const saleId = saleIdOfOrderId(orderId);
      if (saleId === null) throw new ApiError('INVALID_REQUEST', 'Not an orderId.');
      const order = await readOrder(pool, saleId, orderId.slice(saleId.length + 1));
      if (order === null) throw new ApiError('ORDER_NOT_FOUND');
      const identity = request.identity!;
      if (order.customerId !== identity.customerId && !identity.admin)
        throw new ApiError('FORBIDDEN', 'This order belongs to another customer.');
      return orderBody(order);
    },
  );
}
