import type { NatsConnection } from '@nats-io/transport-node';
import {
  type CommandReply,
  decodeReply,
  encodeMessage,
  type QueryReply,
  saleCommandSubject,
  saleQuerySubject,
} from '../engine/protocol/index.js';
import { ApiError } from './errors.js';

// The gateway's only way to the engine: NATS request-reply on the sale's subjects, with a bound on
// requests in flight (past it the gateway sheds load at once instead of queueing in NATS) and
// every failure to get an answer — no responders, timeout, a broken connection — reported as
// ENGINE_UNAVAILABLE. "No responders" comes back from the server at once, so a sale without an
// engine costs a round trip, not a timeout.

export interface EngineLinkOptions {
  readonly requestTimeoutMs: number;
  readonly inflightMax: number;
  /** Called for each request refused because too many were in flight. */
  readonly onShed: () => void;
}

export class EngineLink {
  private inflightCount = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: EngineLinkOptions,
  ) {}

  get inflight(): number {
    return this.inflightCount;
  }

  command(saleId: string, body: object): Promise<CommandReply> {
    return this.request<CommandReply>(saleCommandSubject(saleId), body);
  }

  query(saleId: string, body: object): Promise<QueryReply> {
    return this.request<QueryReply>(saleQuerySubject(saleId), body);
  }

  private async request<T extends CommandReply | QueryReply>(
    subject: string,
    body: object,
  ): Promise<T> {
    if (this.inflightCount >= this.options.inflightMax) {
      this.options.onShed();
      throw new ApiError('OVERLOADED', 'Too many orders in flight at this gateway; retry shortly.');
    }
    this.inflightCount += 1;
    let data: Uint8Array;
    try {
      const msg = await this.nc.request(subject, encodeMessage(body), {
        timeout: this.options.requestTimeoutMs,
      });
      data = msg.data;
    } catch (error) {
      throw new ApiError(
        'ENGINE_UNAVAILABLE',
        `No engine answered for this sale (${(error as Error).message}); retry later. ` +
          'An order sent with an Idempotency-Key can be retried safely.',
      );
    } finally {
      this.inflightCount -= 1;
    }
    return decodeReply<T>(data);
  }
}
