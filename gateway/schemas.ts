import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  ADMISSION_TTL_S_MAX,
  ADMIT_PER_SECOND_MAX,
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

const WaitingRoomBody = Type.Object(
  {
    lobbyOpensAt: instant,
    admitPerSecond: Type.Integer({ minimum: 1, maximum: ADMIT_PER_SECOND_MAX }),
    admissionTtlS: Type.Integer({ minimum: 1, maximum: ADMISSION_TTL_S_MAX }),
  },
  {
    ...strict,
    description: 'A fair waiting room: a lobby, a draw at startsAt, admission at a rate',
  },
);

export const ConfigureSaleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: SALE_NAME_CHARS_MAX }),
    stock: Type.Integer({ minimum: 0, maximum: SALE_STOCK_UNITS_MAX }),
    perCustomerLimit: Type.Integer({ minimum: 1, maximum: PER_CUSTOMER_LIMIT_UNITS_MAX }),
    startsAt: Type.Optional(Type.Union([instant, Type.Null()])),
    endsAt: Type.Optional(Type.Union([instant, Type.Null()])),
    waitingRoom: Type.Optional(WaitingRoomBody),
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
  waitingRoom: Type.Optional(WaitingRoomBody),
});

/** One line of `GET /v1/sales`: null name and status while no engine answers for the sale. */
export const SaleListing = Type.Object({
  sales: Type.Array(
    Type.Object({
      saleId: Type.String(),
      name: Type.Union([Type.String(), Type.Null()]),
      status: Type.Union([
        ...['SCHEDULED', 'OPEN', 'SOLD_OUT', 'ENDED'].map((s) => Type.Literal(s)),
        Type.Null(),
      ]),
    }),
  ),
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

export const JoinQueueBody = Type.Object(
  {
    solution: Type.String({
      minLength: 1,
      maxLength: 2_048,
      description: "The ALTCHA widget's payload for a challenge from GET …/queue/challenge",
    }),
  },
  strict,
);

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const QueueEntry = Type.Object({
  saleId: Type.String(),
  state: Type.Union(
    ['LOBBY', 'WAITING', 'ADMITTED', 'EXPIRED', 'CLOSED', 'LEFT'].map((s) => Type.Literal(s)),
  ),
  entryId: Type.String(),
  ticket: nullable(Type.Integer()),
  position: nullable(Type.Integer()),
  etaSeconds: nullable(Type.Integer()),
  admittedAt: Type.Optional(instant),
  admittedUntil: Type.Optional(instant),
});

export const Draw = Type.Object({
  saleId: Type.String(),
  seedHash: nullable(Type.String()),
  seed: Type.Optional(Type.String()),
  lobby: Type.Optional(Type.Array(Type.String())),
  drawnAt: Type.Optional(instant),
});

/** altcha-lib's challenge, as the widget reads it (its fields are the library's). */
export const ChallengeReply = Type.Object(
  { parameters: Type.Object({}, { additionalProperties: true }), signature: Type.String() },
  { additionalProperties: true },
);

export type PlaceOrderBody = Static<typeof PlaceOrderBody>;
export type JoinQueueBody = Static<typeof JoinQueueBody>;
export type QueueEntryJson = Static<typeof QueueEntry>;
export type DrawJson = Static<typeof Draw>;
export type ConfigureSaleBody = Static<typeof ConfigureSaleBody>;
export type OrderJson = Static<typeof Order>;
export type SaleJson = Static<typeof Sale>;
