import type { NatsConnection } from '@nats-io/transport-node';
import {
  type BatchReply,
  type CommandReply,
  decodeReply,
  encodeMessage,
  type PlaceOrderRequest,
  type QueryReply,
  saleCommandSubject,
  saleQuerySubject,
} from '../engine/protocol/index.js';
import type { SaleCatalogueReader } from './catalogue.js';
import { ApiError } from './errors.js';
import { OrderBatcher } from './order-batcher.js';

// The gateway's only way to the engine: NATS request-reply on the sale's subjects, with a bound on
// orders and requests in flight (past it the gateway sheds load at once instead of queueing in
// NATS) and every failure to get an answer — no responders, timeout, a broken connection —
// reported as ENGINE_UNAVAILABLE. "No responders" comes back from the server at once, so a sale
// without an engine costs a round trip, not a timeout. Orders travel in batches (order-batcher.ts).

export interface EngineLinkOptions {
  readonly requestTimeoutMs: number;
  readonly inflightMax: number;
  /** Orders per PlaceOrders message; 1 sends each order on its own. */
  readonly batchOrdersMax: number;
  /** Called for each request refused because too many were in flight. */
  readonly onShed: () => void;
}

export class EngineLink {
  private inflightCount = 0;
  private readonly orders: OrderBatcher;

  constructor(
    private readonly nc: NatsConnection,
    private readonly catalogue: SaleCatalogueReader,
    private readonly options: EngineLinkOptions,
  ) {
    this.orders = new OrderBatcher(
      (saleId, body) => this.roundTrip(saleId, saleCommandSubject(saleId), body),
      options.batchOrdersMax,
    );
  }

  get inflight(): number {
    return this.inflightCount;
  }

  placeOrder(saleId: string, order: PlaceOrderRequest): Promise<CommandReply> {
    return this.bounded(() => this.orders.place(saleId, order));
  }

  command(saleId: string, body: object): Promise<CommandReply> {
    return this.bounded(() =>
      this.roundTrip<CommandReply>(saleId, saleCommandSubject(saleId), body),
    );
  }

  query(saleId: string, body: object): Promise<QueryReply> {
    return this.bounded(() => this.roundTrip<QueryReply>(saleId, saleQuerySubject(saleId), body));
  }

  /** Counts the request while it is in flight, or refuses it at once past the bound. */
  private async bounded<T>(request: () => Promise<T>): Promise<T> {
    if (this.inflightCount >= this.options.inflightMax) {
      this.options.onShed();
      throw new ApiError('OVERLOADED', 'Too many orders in flight at this gateway; retry shortly.');
    }
    this.inflightCount += 1;
    try {
      return await request();
    } finally {
      this.inflightCount -= 1;
    }
  }

  private async roundTrip<T extends CommandReply | QueryReply | BatchReply>(
    saleId: string,
    subject: string,
    body: object,
  ): Promise<T> {
    let data: Uint8Array;
    try {
      const msg = await this.nc.request(subject, encodeMessage(body), {
        timeout: this.options.requestTimeoutMs,
      });
      data = msg.data;
    } catch (error) {
      throw await this.unanswered(saleId, error);
    }
    return decodeReply<T>(data);
  }

  /**
   * Nobody answered: SALE_NOT_FOUND when no engine serves the sale ("no responders") and the
   * catalogue has never heard of it; ENGINE_UNAVAILABLE when it exists (or we can't tell), or
   * its engine was too slow.
   */
  private async unanswered(saleId: string, error: unknown): Promise<ApiError> {
    const noResponders = (error as { isNoResponders?: () => boolean }).isNoResponders?.() === true;
    if (noResponders && (await this.catalogue.exists(saleId)) === false)
      return new ApiError('SALE_NOT_FOUND', `There is no sale ${saleId}.`);
    return new ApiError(
      'ENGINE_UNAVAILABLE',
      `No engine answered for this sale (${(error as Error).message}); retry later. ` +
        'An order sent with an Idempotency-Key can be retried safely.',
    );
  }
}
