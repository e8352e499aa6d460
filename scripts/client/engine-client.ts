import type { NatsConnection } from '@nats-io/transport-node';
import {
  type CommandReply,
  decodeReply,
  encodeMessage,
  type QueryReply,
  saleCommandSubject,
  saleQuerySubject,
} from '../../engine/protocol/index.js';

// What a gateway does, reduced to the protocol: request-reply to a sale's engine.

export const REQUEST_TIMEOUT_MS = 30_000;

export class EngineClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  async command(saleId: string, body: object, timeout = this.timeoutMs): Promise<CommandReply> {
    const msg = await this.nc.request(saleCommandSubject(saleId), encodeMessage(body), { timeout });
    return decodeReply<CommandReply>(msg.data);
  }

  async query(saleId: string, body: object, timeout = this.timeoutMs): Promise<QueryReply> {
    const msg = await this.nc.request(saleQuerySubject(saleId), encodeMessage(body), { timeout });
    return decodeReply<QueryReply>(msg.data);
  }

  configureSale(
    saleId: string,
    settings: { stock: number; perCustomerLimit: number; name?: string },
  ) {
    return this.command(saleId, {
      type: 'ConfigureSale',
      name: settings.name ?? saleId,
      ...settings,
    });
  }

  placeOrder(saleId: string, customerId: string, quantity = 1, idempotencyKey?: string) {
    const key =
      idempotencyKey === undefined ? {} : { idempotencyKey, requestHash: `q=${quantity}` };
    return this.command(saleId, { type: 'PlaceOrder', customerId, quantity, ...key });
  }

  recordShippingStatus(
    saleId: string,
    orderId: string,
    status: 'SHIPPING_DELAYED' | 'SHIPPING_REQUESTED' | 'SHIPPING_FAILED',
    details: { trackingId?: string; message?: string } = {},
  ) {
    return this.command(saleId, { type: 'RecordShippingStatus', orderId, status, ...details });
  }

  async sale(saleId: string) {
    const reply = await this.query(saleId, { type: 'GetSale' });
    if (!reply.ok || reply.kind !== 'sale')
      throw new Error(`GetSale failed: ${JSON.stringify(reply)}`);
    return reply.sale;
  }

  async customer(saleId: string, customerId: string) {
    const reply = await this.query(saleId, { type: 'GetCustomer', customerId });
    if (!reply.ok || reply.kind !== 'customer')
      throw new Error(`GetCustomer failed: ${JSON.stringify(reply)}`);
    return reply.customer;
  }
}
