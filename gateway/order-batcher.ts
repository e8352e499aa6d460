import {
  type BatchReply,
  type CommandReply,
  ORDER_BATCH_ORDERS_MAX,
  type PlaceOrderRequest,
  present,
} from '../engine/protocol/index.js';

// The orders that reach a gateway in one event-loop turn go to their sale's engine together, as
// one PlaceOrders message. In a burst, hundreds of orders arrive between two turns; one NATS
// round trip for all of them, instead of one each, takes most of the gateway's, nats-server's and
// the engine's cost per order away (measured in docs/benchmarks.md, bench:http). Nothing waits
// for a batch to fill: the batch leaves at the end of the turn that began it, so a lone order
// goes at once, as a plain PlaceOrder. The engine decides the orders one by one in batch order,
// and each caller gets its own order's reply.

/** Sends one message to the sale's engine and returns its decoded reply. */
export type SendToEngine = <T extends CommandReply | BatchReply>(
  saleId: string,
  body: object,
) => Promise<T>;

interface WaitingOrder {
  readonly order: PlaceOrderRequest;
  readonly resolve: (reply: CommandReply) => void;
  readonly reject: (error: unknown) => void;
}

export class OrderBatcher {
  private readonly waiting = new Map<string, WaitingOrder[]>();
  private flushScheduled = false;

  /** `ordersMax` 1 sends every order on its own (no batching). */
  constructor(
    private readonly send: SendToEngine,
    private readonly ordersMax: number = ORDER_BATCH_ORDERS_MAX,
  ) {}

  place(saleId: string, order: PlaceOrderRequest): Promise<CommandReply> {
    return new Promise((resolve, reject) => {
      const orders = this.waiting.get(saleId);
      if (orders === undefined) this.waiting.set(saleId, [{ order, resolve, reject }]);
      else orders.push({ order, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      // After the I/O callbacks of this turn: every request parsed in it has had its chance.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [saleId, orders] of this.waiting)
      for (let start = 0; start < orders.length; start += this.ordersMax)
        void this.sendBatch(saleId, orders.slice(start, start + this.ordersMax));
    this.waiting.clear();
  }

  private async sendBatch(saleId: string, batch: readonly WaitingOrder[]): Promise<void> {
    try {
      const [only] = batch;
      if (batch.length === 1 && only !== undefined) {
        only.resolve(await this.send<CommandReply>(saleId, only.order));
        return;
      }
      const orders = batch.map((waiting) => waiting.order);
      const answer = await this.send<BatchReply>(saleId, { type: 'PlaceOrders', orders });
      // A refusal of the whole batch (e.g. the sale is not served there) is each order's answer.
      if (!answer.ok) for (const waiting of batch) waiting.resolve(answer);
      else if (answer.kind !== 'batch' || answer.replies.length !== batch.length)
        throw new Error(`engine answered a batch of ${batch.length} with ${answer.kind}`);
      else
        batch.forEach((waiting, index) => {
          waiting.resolve(present(answer.replies[index], `reply ${index} of the batch`));
        });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
