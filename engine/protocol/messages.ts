import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  type ErrorCode,
  type ErrorDetails,
  isErrorCode,
  type Rejection,
  rejection,
} from '../core/errors.js';
import type { OrderStatus } from '../core/types.js';
import type { CustomerView, OrderView, SaleView } from '../core/views.js';
import { CommandMessage, QueryRequest } from './schemas.js';

// The shapes of what the engine replies and publishes, and the checked decoding of what arrives.

/**
 * Requests larger than this are refused before parsing. A full PlaceOrders batch of the largest
 * orders (ids, key and hash at their limits: ~520 bytes each) fits; nothing else comes close.
 */
export const REQUEST_BYTES_MAX = 96 * 1024;

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
  | ErrorReply;

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
  | ErrorReply;

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
export function decodeReply<T extends CommandReply | QueryReply | BatchReply>(
  bytes: Uint8Array,
): T {
  const value: unknown = JSON.parse(decoder.decode(bytes));
  if (typeof value !== 'object' || value === null || !('ok' in value))
    throw new Error('engine reply has no "ok" field');
  if (value.ok === false) {
    const error = (value as { error?: { code?: unknown } }).error;
    if (!isErrorCode(error?.code)) throw new Error('engine error reply has an unknown code');
  }
  return value as T;
}
