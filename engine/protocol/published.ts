import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  CUSTOMER_ID_CHARS_MAX,
  ORDER_QUANTITY_UNITS_MAX,
  SALE_ID_CHARS_MAX,
  SALE_STOCK_UNITS_MAX,
  SHIPPING_MESSAGE_CHARS_MAX,
  TIMESTAMP_MS_MAX,
  TRACKING_ID_CHARS_MAX,
} from '../core/limits.js';
import type {
  AdmissionsMessage,
  ConfirmedOrderMessage,
  OrderStatusChange,
  OrderStatusMessage,
  QueueMessage,
  StockMessage,
} from './messages.js';
import { OrderIdSchema, ShippingStatusSchema } from './schemas.js';

// JSON schemas of what the engine publishes — the stock, status notices, the outbox's confirmed
// orders — and the checked decoding every reader uses (the gateway's live feeds, the shipping
// agent), instead of a hand-written check each. A message that fails is dropped by the reader:
// it comes from our own engine, so a bad one is a bug or a stranger on the subject, never a
// reason to crash. Extra fields are allowed, so an engine one version ahead can add some.

const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const orNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const units = (maximum: number) => Type.Integer({ minimum: 0, maximum });
const timestamp = Type.Integer({ minimum: 0, maximum: TIMESTAMP_MS_MAX });
const saleId = text(SALE_ID_CHARS_MAX);

export const StockMessageSchema = Type.Object({
  type: Type.Literal('stock'),
  saleId,
  stock: units(SALE_STOCK_UNITS_MAX),
  remaining: units(SALE_STOCK_UNITS_MAX),
});

export const OrderStatusChangeSchema = Type.Object({
  orderId: OrderIdSchema,
  customerId: text(CUSTOMER_ID_CHARS_MAX),
  status: Type.Union([Type.Literal('CONFIRMED'), ShippingStatusSchema]),
  trackingId: orNull(text(TRACKING_ID_CHARS_MAX)),
  message: orNull(text(SHIPPING_MESSAGE_CHARS_MAX)),
  at: timestamp,
});

export const OrderStatusMessageSchema = Type.Object({
  type: Type.Literal('orderStatus'),
  saleId,
  changes: Type.Array(OrderStatusChangeSchema, { minItems: 1 }),
});

export const ConfirmedOrderMessageSchema = Type.Object({
  orderId: OrderIdSchema,
  saleId,
  customerId: text(CUSTOMER_ID_CHARS_MAX),
  quantity: Type.Integer({ minimum: 1, maximum: ORDER_QUANTITY_UNITS_MAX }),
  createdAt: timestamp,
});

const count = Type.Integer({ minimum: 0 });

export const QueueMessageSchema = Type.Object({
  type: Type.Literal('queue'),
  saleId,
  state: Type.Union([
    Type.Literal('NOT_OPEN'),
    Type.Literal('LOBBY'),
    Type.Literal('ADMITTING'),
    Type.Literal('CLOSED'),
  ]),
  serving: count,
  waiting: count,
  admitPerSecond: Type.Integer({ minimum: 1 }),
  admittedPerSecond: Type.Number({ minimum: 0 }),
  seedHash: orNull(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  startsAt: orNull(timestamp),
  lobbyOpensAt: timestamp,
  slowed: Type.Boolean(),
});

export const AdmissionsMessageSchema = Type.Object({
  type: Type.Literal('admissions'),
  saleId,
  admissions: Type.Array(
    Type.Object({
      customerId: text(CUSTOMER_ID_CHARS_MAX),
      admittedAt: timestamp,
      admittedUntil: timestamp,
    }),
  ),
  closed: Type.Optional(Type.Array(text(CUSTOMER_ID_CHARS_MAX))),
});

// What passes a schema is a message of its type: the compiler holds the two together.
type Conforms<S extends TSchema, T> = Static<S> extends T ? true : never;
const conforming: [
  Conforms<typeof StockMessageSchema, StockMessage>,
  Conforms<typeof OrderStatusChangeSchema, OrderStatusChange>,
  Conforms<typeof OrderStatusMessageSchema, OrderStatusMessage>,
  Conforms<typeof ConfirmedOrderMessageSchema, ConfirmedOrderMessage>,
  Conforms<typeof QueueMessageSchema, QueueMessage>,
  Conforms<typeof AdmissionsMessageSchema, AdmissionsMessage>,
] = [true, true, true, true, true, true];
void conforming;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A checked decoder: the message, or null when the bytes are not one. */
export function decoderOf<S extends TSchema>(schema: S): (bytes: Uint8Array) => Static<S> | null {
  const check = TypeCompiler.Compile(schema);
  return (bytes) => {
    try {
      const value: unknown = JSON.parse(decoder.decode(bytes));
      return check.Check(value) ? value : null;
    } catch {
      return null;
    }
  };
}

export const decodeStockMessage = decoderOf(StockMessageSchema);
export const decodeOrderStatusMessage = decoderOf(OrderStatusMessageSchema);
export const decodeConfirmedOrder = decoderOf(ConfirmedOrderMessageSchema);
export const decodeQueueMessage = decoderOf(QueueMessageSchema);
export const decodeAdmissionsMessage = decoderOf(AdmissionsMessageSchema);
