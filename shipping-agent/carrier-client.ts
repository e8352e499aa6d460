import { type Dispatcher, Pool } from 'undici';
import type { ConfirmedOrderMessage } from '../engine/protocol/index.js';
import type { AgentConfig } from './config.js';

// One call to the carrier's `POST /shipments`, through a pooled undici client with every timeout
// explicit. The orderId is the Idempotency-Key: however often we call for an order (retries,
// redeliveries, two agents, a crash after the carrier answered), the carrier makes one shipment.

/** A carrier reply larger than this is not a shipment confirmation; reading stops there. */
export const CARRIER_REPLY_BYTES_MAX = 64 * 1024;

export class CarrierError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the carrier answered at all. */
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface Shipment {
  readonly trackingId: string;
}

export class CarrierClient {
  private readonly pool: Pool;

  constructor(
    readonly url: string,
    settings: AgentConfig['carrier'],
  ) {
    this.pool = new Pool(url, {
      connections: settings.connections,
      connect: { timeout: settings.connectTimeoutMs },
      headersTimeout: settings.headersTimeoutMs,
      bodyTimeout: settings.bodyTimeoutMs,
    });
  }

  async requestShipment(order: ConfirmedOrderMessage, signal?: AbortSignal): Promise<Shipment> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({
        method: 'POST',
        path: '/shipments',
        headers: { 'content-type': 'application/json', 'idempotency-key': order.orderId },
        body: JSON.stringify({
          orderId: order.orderId,
          saleId: order.saleId,
          customerId: order.customerId,
          quantity: order.quantity,
        }),
        signal,
      });
    } catch (error) {
      throw new CarrierError(`carrier unreachable: ${(error as Error).message}`, null);
    }
    const { statusCode, body } = response;
    const text = await replyText(body, statusCode);
    if (statusCode !== 200 && statusCode !== 201)
      throw new CarrierError(`carrier answered ${statusCode}: ${text.slice(0, 200)}`, statusCode);
    let reply: { trackingId?: unknown } | null;
    try {
      reply = JSON.parse(text) as { trackingId?: unknown } | null;
    } catch {
      throw new CarrierError('carrier reply is not JSON', statusCode);
    }
    const trackingId = reply?.trackingId;
    if (typeof trackingId !== 'string' || trackingId.length === 0 || trackingId.length > 128)
      throw new CarrierError('carrier reply has no trackingId', statusCode);
    return { trackingId };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * The reply's text, read up to CARRIER_REPLY_BYTES_MAX: a carrier gone wrong (or a proxy's error
 * page, or worse) must not make the agent hold its whole body in memory.
 */
async function replyText(body: Dispatcher.ResponseData['body'], status: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > CARRIER_REPLY_BYTES_MAX) {
        body.destroy();
        throw new CarrierError('carrier reply too large', status);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof CarrierError) throw error;
    throw new CarrierError(`carrier reply broken: ${(error as Error).message}`, status);
  }
  return Buffer.concat(chunks).toString('utf8');
}
