import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  ERROR_CODES,
  IDEMPOTENCY_KEY_CHARS_MAX,
  ORDER_QUANTITY_UNITS_MAX,
  OrderIdSchema,
  PER_CUSTOMER_LIMIT_UNITS_MAX,
  SALE_NAME_CHARS_MAX,
  SALE_STOCK_UNITS_MAX,
} from '../engine/protocol/index.js';

// The HTTP contract as JSON schemas: Fastify validates requests and serialises replies with them,
// and the OpenAPI document is generated from them. Unknown fields are refused; times are ISO 8601.

const strict = { additionalProperties: false } as const;

export const SaleIdParams = Type.Object(
  {
    saleId: Type.String({
      pattern: '^[A-Za-z0-9_-]{1,64}$',
      description: '1-64 characters of [A-Za-z0-9_-]',
    }),
  },
  strict,
);

export const OrderIdParams = Type.Object(
  { orderId: Type.String({ ...OrderIdSchema, description: '<saleId>~<sequence>' }) },
  strict,
);

export const OrderHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: `^[\\x21-\\x7e]{1,${IDEMPOTENCY_KEY_CHARS_MAX}}$`,
      description: 'Retrying with the same key returns the original order (200), never a second',
    }),
  ),
});

export const PlaceOrderBody = Type.Object(
  { quantity: Type.Integer({ minimum: 1, maximum: ORDER_QUANTITY_UNITS_MAX }) },
  strict,
);

const instant = Type.String({ format: 'date-time' });

export const ConfigureSaleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: SALE_NAME_CHARS_MAX }),
    stock: Type.Integer({ minimum: 0, maximum: SALE_STOCK_UNITS_MAX }),
    perCustomerLimit: Type.Integer({ minimum: 1, maximum: PER_CUSTOMER_LIMIT_UNITS_MAX }),
    startsAt: Type.Optional(Type.Union([instant, Type.Null()])),
    endsAt: Type.Optional(Type.Union([instant, Type.Null()])),
  },
  strict,
);

export const TokenQuery = Type.Object(
  { token: Type.Optional(Type.String({ minLength: 1, maxLength: 4_096 })) },
  strict,
);

const OrderStatusSchema = Type.Union(
  ['CONFIRMED', 'SHIPPING_DELAYED', 'SHIPPING_REQUESTED', 'SHIPPING_FAILED'].map((s) =>
    Type.Literal(s),
  ),
);

export const Order = Type.Object({
  orderId: Type.String(),
  saleId: Type.String(),
  customerId: Type.String(),
  quantity: Type.Integer(),
  status: OrderStatusSchema,
  trackingId: Type.Union([Type.String(), Type.Null()]),
  createdAt: instant,
  history: Type.Array(
    Type.Object({
      status: OrderStatusSchema,
      at: instant,
      message: Type.Optional(Type.String()),
    }),
  ),
});

export const Sale = Type.Object({
  saleId: Type.String(),
  name: Type.String(),
  stock: Type.Integer(),
  remaining: Type.Integer(),
  perCustomerLimit: Type.Integer(),
  startsAt: Type.Optional(instant),
  endsAt: Type.Optional(instant),
  status: Type.Union(['SCHEDULED', 'OPEN', 'SOLD_OUT', 'ENDED'].map((s) => Type.Literal(s))),
});

export const MyOrders = Type.Object({
  saleId: Type.String(),
  customerId: Type.String(),
  purchased: Type.Integer(),
  orders: Type.Array(Order),
});

export const ErrorSchema = Type.Object(
  {
    error: Type.Union(ERROR_CODES.map((code) => Type.Literal(code))),
    message: Type.String(),
  },
  { additionalProperties: Type.Union([Type.String(), Type.Number()]) },
);

/** The reply schemas of a route: its successes plus every error it can send. */
export function replies(
  success: Record<number, TSchema>,
  errorStatuses: readonly number[],
): Record<number, TSchema> {
  const all: Record<number, TSchema> = { ...success };
  for (const status of [400, 500, ...errorStatuses]) all[status] = ErrorSchema;
  return all;
}

export type PlaceOrderBody = Static<typeof PlaceOrderBody>;
export type ConfigureSaleBody = Static<typeof ConfigureSaleBody>;
export type OrderJson = Static<typeof Order>;
export type SaleJson = Static<typeof Sale>;
