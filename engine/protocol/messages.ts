import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { assert } from '../core/assert.js';
import {
  type ErrorCode,
  type ErrorDetails,
  isErrorCode,
  type Rejection,
  rejection,
} from '../core/errors.js';
import {
  CUSTOMER_ID_CHARS_MAX,
  IDEMPOTENCY_KEY_CHARS_MAX,
  ORDER_QUANTITY_UNITS_MAX,
  REQUEST_HASH_CHARS_MAX,
} from '../core/limits.js';
import type { DrawView, QueueEntryView, QueueView } from '../core/queue-views.js';
import type { OrderStatus } from '../core/types.js';
import type { CustomerView, OrderView, SaleView } from '../core/views.js';
import {
  CommandMessage,
  ORDER_BATCH_ORDERS_MAX,
  type PlaceOrderRequest,
  QueryRequest,
} from './schemas.js';

// The shapes of what the engine replies and publishes, and the checked decoding of what arrives.

/**
 * Requests larger than this are refused before parsing. A full PlaceOrders batch of the largest
 * orders fits (checked below: ids, key and hash at their limits, every character written as a
 * 6-byte \u escape — ~2.4 KB an order), so a gateway's batch of valid orders is never refused
 * whole for its size; nothing else comes close.
 */
export const REQUEST_BYTES_MAX = 384 * 1024;
/** NATS's default `max_payload`: a larger message never reaches the engine. */
export const NATS_PAYLOAD_BYTES_MAX = 1024 * 1024;

export interface ErrorReply {
  readonly ok: false;
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly details?: ErrorDetails;
  };
}

export type CommandReply =
  | {
      readonly ok: true;
      readonly kind: 'order';
      readonly order: OrderView;
      readonly replayed: boolean;
    }
  | { readonly ok: true; readonly kind: 'sale'; readonly sale: SaleView; readonly created: boolean }
  | {
      readonly ok: true;
      readonly kind: 'shipping';
      readonly order: OrderView;
      readonly changed: boolean;
    }
  | {
      readonly ok: true;
      readonly kind: 'queueEntry';
      readonly entry: QueueEntryView;
      /** False when the customer was in the queue already (the same entry, unchanged). */
      readonly joined: boolean;
    }
  | {
      /** The answer to the engine's own queue tick (never sent over NATS by anyone else). */
      readonly ok: true;
      readonly kind: 'tick';
      readonly queue: QueueView | null;
      readonly admissions: readonly Admission[];
      /** Customers still waiting when this tick closed the queue: each is told. */
      readonly closed: readonly string[];
    }
  | ErrorReply;

/** A customer let in from the waiting room (ms since the epoch). */
export interface Admission {
  readonly customerId: string;
  readonly admittedAt: number;
  readonly admittedUntil: number;
}

/**
 * The answer to a PlaceOrders batch: one reply per order, in the batch's order — or one error for
 * the whole batch when none of it was decided (not valid, the sale not served here).
 */
export type BatchReply =
  | { readonly ok: true; readonly kind: 'batch'; readonly replies: readonly CommandReply[] }
  | ErrorReply;

export interface CustomerOrders extends Omit<CustomerView, 'orderIds'> {
  readonly orders: readonly OrderView[];
}

export type QueryReply =
  | { readonly ok: true; readonly kind: 'sale'; readonly sale: SaleView }
  | { readonly ok: true; readonly kind: 'order'; readonly order: OrderView }
  | { readonly ok: true; readonly kind: 'customer'; readonly customer: CustomerOrders }
  | { readonly ok: true; readonly kind: 'queueEntry'; readonly entry: QueueEntryView | null }
  | { readonly ok: true; readonly kind: 'queue'; readonly queue: QueueView }
  | { readonly ok: true; readonly kind: 'draw'; readonly draw: DrawView }
  | ErrorReply;

/**
 * Published on `sale.<id>.queue` every QUEUE_TICK_MS while the sale has a waiting room; also what
 * the live socket sends. The same for everyone: a client works out its position from its ticket.
 */
export interface QueueMessage extends QueueView {
  readonly type: 'queue';
  /** True when the engine ticks late (its mailbox backs up): admissions go slower than set. */
  readonly slowed: boolean;
}

/**
 * Published on `sale.<id>.admissions` once a tick's admissions are durable; when a tick closes
 * the queue, the customers still waiting in `closed` (in messages of at most
 * ADMISSIONS_MESSAGE_CUSTOMERS_MAX customers).
 */
export interface AdmissionsMessage {
  readonly type: 'admissions';
  readonly saleId: string;
  readonly admissions: readonly Admission[];
  readonly closed?: readonly string[];
}

/** Customers per admissions message (checked below to fit NATS's max_payload at their widest). */
export const ADMISSIONS_MESSAGE_CUSTOMERS_MAX = 1_000;

/** Published on `sale.<id>.stock`; also what the gateway's live socket sends. */
export interface StockMessage {
  readonly type: 'stock';
  readonly saleId: string;
  readonly stock: number;
  readonly remaining: number;
}

/** One order's status change, as carried by an {@link OrderStatusMessage}. */
export interface OrderStatusChange {
  readonly orderId: string;
  readonly customerId: string;
  readonly status: OrderStatus;
  readonly trackingId: string | null;
  readonly message: string | null;
  readonly at: number;
}

/**
 * Published on `orders.status.<id>` once status changes are durable: all the changes of one
 * durable batch for that sale in one message (in log order), so a burst of 1,000 orders costs one
 * notice, not 1,000.
 */
export interface OrderStatusMessage {
  readonly type: 'orderStatus';
  readonly saleId: string;
  readonly changes: readonly OrderStatusChange[];
}

/** The outbox message on `orders.confirmed.<id>` (JetStream ORDERS, Nats-Msg-Id = orderId). */
export interface ConfirmedOrderMessage {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly createdAt: number;
}

/** On `orders.dead.<id>` (JetStream ORDERS_DLQ): the order and why its shipment gave up. */
export interface DeadLetterMessage extends ConfirmedOrderMessage {
  readonly deliveries: number;
  readonly reason: string;
  readonly at: number;
}

/** On `notifications.customer.<id>` (JetStream NOTIFICATIONS, Nats-Msg-Id `<orderId>:<status>`). */
export interface CustomerNotification {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly status: OrderStatus;
  readonly trackingId: string | null;
  /** What the customer should be told, ready to send. */
  readonly text: string;
  readonly at: number;
}

export const errorReply = (error: Rejection): ErrorReply => ({ ok: false, error });

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly rejection: Rejection };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const encodeMessage = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

/** The largest PlaceOrder the schema admits, as bytes go: JSON escapes U+0000 as 6 bytes. */
export function largestPlaceOrder(): PlaceOrderRequest {
  const widest = (chars: number) => '\u0000'.repeat(chars);
  return {
    type: 'PlaceOrder',
    customerId: widest(CUSTOMER_ID_CHARS_MAX),
    quantity: ORDER_QUANTITY_UNITS_MAX,
    idempotencyKey: widest(IDEMPOTENCY_KEY_CHARS_MAX),
    requestHash: widest(REQUEST_HASH_CHARS_MAX),
  };
}

// Relations between limits, checked once as the module loads: a change to one that breaks
// another stops every process at start, not a burst at 10:00.
const largestBatchBytes = encodeMessage({
  type: 'PlaceOrders',
  orders: Array.from({ length: ORDER_BATCH_ORDERS_MAX }, largestPlaceOrder),
}).byteLength;
assert(
  largestBatchBytes <= REQUEST_BYTES_MAX,
  `a full PlaceOrders batch may take ${largestBatchBytes} bytes, over REQUEST_BYTES_MAX`,
);
assert(REQUEST_BYTES_MAX <= NATS_PAYLOAD_BYTES_MAX, 'REQUEST_BYTES_MAX is over NATS max_payload');
const widestCustomerId = '\u0000'.repeat(CUSTOMER_ID_CHARS_MAX);
const widestClosing = encodeMessage({
  type: 'admissions',
  saleId: 'x'.repeat(64),
  admissions: [],
  closed: Array.from({ length: ADMISSIONS_MESSAGE_CUSTOMERS_MAX }, () => widestCustomerId),
}).byteLength;
assert(
  widestClosing <= NATS_PAYLOAD_BYTES_MAX,
  `an admissions message may take ${widestClosing} bytes, over NATS max_payload`,
);

function decodeChecked<T extends TSchema>(schema: T, label: string) {
  const check = TypeCompiler.Compile(schema);
  return (bytes: Uint8Array): Decoded<Static<T>> => {
    if (bytes.byteLength > REQUEST_BYTES_MAX)
      return refuse(`${label} is ${bytes.byteLength} bytes; at most ${REQUEST_BYTES_MAX}`);
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes));
    } catch {
      return refuse(`${label} is not UTF-8 JSON`);
    }
    if (check.Check(value)) return { ok: true, value };
    const first = check.Errors(value).First();
    return refuse(
      `${label} is not valid: ${first ? `${first.path || '/'} ${first.message}` : 'bad shape'}`,
    );
  };
}

const refuse = (message: string) =>
  ({ ok: false, rejection: rejection('INVALID_REQUEST', message) }) as const;

export const decodeCommandMessage = decodeChecked(CommandMessage, 'command');
export const decodeQueryRequest = decodeChecked(QueryRequest, 'query');

/** Replies come from our own engine, but a gateway still refuses to act on a garbled one. */
export function decodeReply<T extends { readonly ok: boolean }>(bytes: Uint8Array): T {
  const value: unknown = JSON.parse(decoder.decode(bytes));
  if (typeof value !== 'object' || value === null || !('ok' in value))
    throw new Error('engine reply has no "ok" field');
  if (value.ok === false) {
    const error = (value as { error?: { code?: unknown } }).error;
    if (!isErrorCode(error?.code)) throw new Error('engine error reply has an unknown code');
  }
  return value as T;
}
