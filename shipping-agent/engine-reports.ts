import type { NatsConnection } from '@nats-io/transport-node';
import {
  type CommandReply,
  decodeReply,
  encodeMessage,
  type OrderView,
  type QueryReply,
  type ShippingStatus,
  saleCommandSubject,
  saleIdOfOrderId,
  saleQuerySubject,
} from '../engine/protocol/index.js';

// The agent's conversation with the sale's engine, through the protocol only: read an order's
// current status, and report a shipping status, which the engine makes durable (WAL) before it
// answers and then pushes to the customer. The engine ignores a repeated report.

/** No engine answered, or it answered that it can't serve now: worth asking again shortly. */
export class EngineUnavailableError extends Error {}

/**
 * The engine answered with a refusal that waiting won't change (a class of its own so that logs
 * name it): the delivery hands the message back, as for any other failure.
 */
export class EngineRefusedError extends Error {}

/** Refusals that mean "not now": the engine lost its lease, or its mailbox is full. */
const NOT_NOW_CODES: ReadonlySet<string> = new Set(['ENGINE_UNAVAILABLE', 'OVERLOADED']);

function unexpected(what: string, reply: CommandReply | QueryReply): Error {
  const text = `${what}: ${JSON.stringify(reply)}`;
  return !reply.ok && !NOT_NOW_CODES.has(reply.error.code)
    ? new EngineRefusedError(text)
    : new EngineUnavailableError(text);
}

export interface Reported {
  readonly order: OrderView;
  /** False when the engine already had this status (a redelivery, another agent). */
  readonly changed: boolean;
}

export class EngineReports {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  /** The order as the engine holds it, or null when it does not exist. */
  async order(orderId: string): Promise<OrderView | null> {
    const reply = await this.request<QueryReply>(saleQuerySubject(saleOf(orderId)), {
      type: 'GetOrder',
      orderId,
    });
    if (reply.ok && reply.kind === 'order') return reply.order;
    if (!reply.ok && reply.error.code === 'ORDER_NOT_FOUND') return null;
    throw unexpected(`GetOrder ${orderId}`, reply);
  }

  async report(
    orderId: string,
    status: ShippingStatus,
    details: { trackingId?: string; message?: string } = {},
  ): Promise<Reported> {
    const reply = await this.request<CommandReply>(saleCommandSubject(saleOf(orderId)), {
      type: 'RecordShippingStatus',
      orderId,
      status,
      ...details,
    });
    if (reply.ok && reply.kind === 'shipping')
      return { order: reply.order, changed: reply.changed };
    throw unexpected(`RecordShippingStatus ${orderId}`, reply);
  }

  private async request<T extends CommandReply | QueryReply>(subject: string, body: object) {
    try {
      const msg = await this.nc.request(subject, encodeMessage(body), { timeout: this.timeoutMs });
      return decodeReply<T>(msg.data);
    } catch (error) {
      throw new EngineUnavailableError(
        `no engine answered on ${subject}: ${(error as Error).message}`,
      );
    }
  }
}

function saleOf(orderId: string): string {
  const saleId = saleIdOfOrderId(orderId);
  if (saleId === null) throw new Error(`not an orderId: ${orderId}`);
  return saleId;
}
