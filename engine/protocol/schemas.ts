import { type Static, Type } from '@sinclair/typebox';
import {
  ADMISSION_TTL_S_MAX,
  ADMIT_PER_SECOND_MAX,
  CUSTOMER_ID_CHARS_MAX,
  IDEMPOTENCY_KEY_CHARS_MAX,
  ORDER_QUANTITY_UNITS_MAX,
  PER_CUSTOMER_LIMIT_UNITS_MAX,
  REQUEST_HASH_CHARS_MAX,
  SALE_NAME_CHARS_MAX,
  SALE_STOCK_UNITS_MAX,
  SHIPPING_MESSAGE_CHARS_MAX,
  SOLUTION_ID_CHARS_MAX,
  TIMESTAMP_MS_MAX,
  TRACKING_ID_CHARS_MAX,
} from '../core/limits.js';

/** Orders in one PlaceOrders message (a gateway splits larger batches). */
export const ORDER_BATCH_ORDERS_MAX = 128;

// JSON schemas of every message that travels to the engine. Everything arriving over NATS is
// checked against these before the engine looks at it; the gateway reuses the same pieces for
// its HTTP schemas. Unknown fields are refused (additionalProperties: false).

const strict = { additionalProperties: false } as const;
const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const timestamp = Type.Integer({ minimum: 0, maximum: TIMESTAMP_MS_MAX });

export const OrderIdSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}~[1-9][0-9]{0,15}$' });

export const PlaceOrderRequest = Type.Object(
  {
    type: Type.Literal('PlaceOrder'),
    customerId: text(CUSTOMER_ID_CHARS_MAX),
    quantity: Type.Integer({ minimum: 1, maximum: ORDER_QUANTITY_UNITS_MAX }),
    idempotencyKey: Type.Optional(text(IDEMPOTENCY_KEY_CHARS_MAX)),
    requestHash: Type.Optional(text(REQUEST_HASH_CHARS_MAX)),
  },
  strict,
);

/** A sale's waiting room (DESIGN.md, "Waiting room"); the draw is at the sale's startsAt. */
export const WaitingRoomSchema = Type.Object(
  {
    lobbyOpensAt: timestamp,
    admitPerSecond: Type.Integer({ minimum: 1, maximum: ADMIT_PER_SECOND_MAX }),
    admissionTtlS: Type.Integer({ minimum: 1, maximum: ADMISSION_TTL_S_MAX }),
  },
  strict,
);

export const ConfigureSaleRequest = Type.Object(
  {
    type: Type.Literal('ConfigureSale'),
    name: text(SALE_NAME_CHARS_MAX),
    stock: Type.Integer({ minimum: 0, maximum: SALE_STOCK_UNITS_MAX }),
    perCustomerLimit: Type.Integer({ minimum: 1, maximum: PER_CUSTOMER_LIMIT_UNITS_MAX }),
    startsAt: Type.Optional(Type.Union([timestamp, Type.Null()])),
    endsAt: Type.Optional(Type.Union([timestamp, Type.Null()])),
    waitingRoom: Type.Optional(WaitingRoomSchema),
  },
  strict,
);

/** Join the sale's queue; the gateway has checked the proof of work whose id this carries. */
export const JoinQueueRequest = Type.Object(
  {
    type: Type.Literal('JoinQueue'),
    customerId: text(CUSTOMER_ID_CHARS_MAX),
    solutionId: text(SOLUTION_ID_CHARS_MAX),
  },
  strict,
);

export const LeaveQueueRequest = Type.Object(
  { type: Type.Literal('LeaveQueue'), customerId: text(CUSTOMER_ID_CHARS_MAX) },
  strict,
);

export const ShippingStatusSchema = Type.Union([
  Type.Literal('SHIPPING_DELAYED'),
  Type.Literal('SHIPPING_REQUESTED'),
  Type.Literal('SHIPPING_FAILED'),
]);

export const RecordShippingStatusRequest = Type.Object(
  {
    type: Type.Literal('RecordShippingStatus'),
    orderId: OrderIdSchema,
    status: ShippingStatusSchema,
    trackingId: Type.Optional(text(TRACKING_ID_CHARS_MAX)),
    message: Type.Optional(text(SHIPPING_MESSAGE_CHARS_MAX)),
  },
  strict,
);

export const CommandRequest = Type.Union([
  PlaceOrderRequest,
  ConfigureSaleRequest,
  RecordShippingStatusRequest,
  JoinQueueRequest,
  LeaveQueueRequest,
]);

/**
 * Several orders for one sale in one message: a gateway sends the orders that reached it in the
 * same event-loop turn together, so a burst costs one NATS round trip per batch, not per order.
 * The engine decides them one by one in this order, exactly as if they had come one by one.
 */
export const PlaceOrdersRequest = Type.Object(
  {
    type: Type.Literal('PlaceOrders'),
    orders: Type.Array(PlaceOrderRequest, { minItems: 1, maxItems: ORDER_BATCH_ORDERS_MAX }),
  },
  strict,
);

/** What may arrive on `sale.<id>.cmd`: one command, or a batch of orders. */
export const CommandMessage = Type.Union([...CommandRequest.anyOf, PlaceOrdersRequest]);

export const QueryRequest = Type.Union([
  Type.Object({ type: Type.Literal('GetSale') }, strict),
  Type.Object({ type: Type.Literal('GetOrder'), orderId: OrderIdSchema }, strict),
  Type.Object(
    { type: Type.Literal('GetCustomer'), customerId: text(CUSTOMER_ID_CHARS_MAX) },
    strict,
  ),
  Type.Object(
    { type: Type.Literal('GetQueueEntry'), customerId: text(CUSTOMER_ID_CHARS_MAX) },
    strict,
  ),
  Type.Object({ type: Type.Literal('GetQueue') }, strict),
  Type.Object({ type: Type.Literal('GetDraw') }, strict),
]);

export type PlaceOrderRequest = Static<typeof PlaceOrderRequest>;
export type ConfigureSaleRequest = Static<typeof ConfigureSaleRequest>;
export type RecordShippingStatusRequest = Static<typeof RecordShippingStatusRequest>;
export type CommandRequest = Static<typeof CommandRequest>;
export type JoinQueueRequest = Static<typeof JoinQueueRequest>;
export type WaitingRoom = Static<typeof WaitingRoomSchema>;
export type PlaceOrdersRequest = Static<typeof PlaceOrdersRequest>;
export type CommandMessage = Static<typeof CommandMessage>;
export type QueryRequest = Static<typeof QueryRequest>;
