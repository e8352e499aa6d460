import { assert, present } from '../core/assert.js';
import { decide } from '../core/decide.js';
import { type Rejection, rejection } from '../core/errors.js';
import { evolve } from '../core/evolve.js';
import { saleIdOfOrderId } from '../core/order-id.js';
import { SnapshotCursor } from '../core/snapshot.js';
import {
  type Decision,
  type EngineState,
  type Event,
  type HistoryEntry,
  type OrderState,
  type OrderStatus,
  orderOf,
} from '../core/types.js';
import {
  type CommandReply,
  errorReply,
  type OrderStatusChange,
  type OrderStatusMessage,
  type QueryReply,
  type StockMessage,
} from '../protocol/messages.js';
import type { QueryRequest } from '../protocol/schemas.js';
import { type EngineRequest, isRejection, toCommand } from './commands.js';
import { encodeEvent } from './event-codec.js';
import { outboxMessageOf, statusChangeOf } from './order-messages.js';
import type { OutboxMessage } from './outbox.js';
import { commandReply, queryReply } from './replies.js';

// The single writer. Commands wait in a bounded mailbox; each drain decides a whole batch in
// arrival order (decide + evolve in memory), appends the batch's events to the WAL in one group
// commit, and sends the batch's replies only once that append is durable (I3). The next batch may
// be decided while this one is syncing: its replies wait for its own append, which the log orders
// after this one, so nobody hears of a state that could still be lost.

export const BATCH_COMMANDS_MAX = 4_096;

const NONE_LOST: ReadonlyMap<string, string> = new Map();
const UNAVAILABLE = errorReply(
  rejection(
    'ENGINE_UNAVAILABLE',
    'This sale is moving to another engine; retry shortly with the same Idempotency-Key.',
  ),
);

/** Lets the event loop run (I/O, the next batch) between two steps of a snapshot. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface ActorLog {
  readonly lastLsn: number;
  /** `saleIds[i]` is the sale of `payloads[i]` (a replicated log appends per sale). */
  append(payloads: readonly Uint8Array[], saleIds: readonly string[]): Promise<number>;
  /** The payload in pieces, stored end to end. */
  writeSnapshot(lsn: number, pieces: readonly Uint8Array[]): Promise<void>;
}

/**
 * A batch is durable except for some sales' events, which a replicated log could not store or
 * may no longer acknowledge (their lease was lost, another owner fenced them). Those sales'
 * requests are refused and the sales handed back (ActorEffects.salesLost); the rest is answered.
 */
export class SalesLostError extends Error {
  override readonly name = 'SalesLostError';

  constructor(
    readonly lsn: number,
    /** Each lost sale, with why. */
    readonly sales: ReadonlyMap<string, string>,
  ) {
    super(`sales lost by the log: ${[...sales.keys()].join(', ')}`);
  }
}

export interface SnapshotPolicy {
  readonly everyRecords: number;
  /** Confirmed orders the outbox still holds (durable, not yet acknowledged by JetStream). */
  readonly pendingOutbox: () => Iterable<OutboxMessage>;
  readonly encode: (
    cursor: SnapshotCursor,
    outbox: readonly OutboxMessage[],
    between: () => Promise<void>,
  ) => Promise<readonly Uint8Array[]>;
  /** Gets a SnapshotFailedError: which snapshot failed, when the next is tried, and why. */
  readonly onError: (error: unknown) => void;
  readonly onWritten: (lsn: number) => void;
}

/**
 * A snapshot could not be written. The log still holds everything; the next attempt waits for
 * another `everyRecords` records, as after a written one.
 */
export class SnapshotFailedError extends Error {
  override readonly name = 'SnapshotFailedError';

  constructor(
    readonly lsn: number,
    readonly nextAttemptLsn: number,
    cause: unknown,
  ) {
    super(`snapshot at LSN ${lsn} failed; the next is tried at LSN ${nextAttemptLsn}`, { cause });
  }
}

/** What the outside world learns once a batch is durable. */
export interface ActorEffects {
  confirmed(messages: readonly OutboxMessage[]): void;
  /** The durable status changes of one batch for one sale, in log order. */
  statusChanged(message: OrderStatusMessage): void;
  /** A sale's stock as of a durable batch: what gateways may act on (the sold-out fast path). */
  stockChanged(message: StockMessage): void;
  /** Refuse new orders while this says why (e.g. the outbox backlog is full). */
  refusal(saleId: string, now: number): Rejection | null;
  /** Sales whose events the log lost (SalesLostError): no longer served from this state. */
  salesLost?(sales: ReadonlyMap<string, string>): void;
}

export type Envelope =
  | {
      kind: 'command';
      saleId: string;
      request: EngineRequest;
      respond: (reply: CommandReply) => void;
    }
  | { kind: 'query'; saleId: string; request: QueryRequest; respond: (reply: QueryReply) => void };

export interface ActorOptions {
  readonly state: EngineState;
  readonly log: ActorLog;
  readonly clock: () => number;
  readonly effects: ActorEffects;
  readonly mailboxCommandsMax: number;
  /** The process can't go on (the WAL failed): stop, and let recovery sort it out. */
  readonly onFatal: (error: unknown) => void;
  readonly snapshots: SnapshotPolicy;
  /** Log position the recovered state covers (the last snapshot's or the last record's). */
  readonly recoveredLsn: number;
  /** Where the order sequences of a sale created here start (its home's range, sale-homes.ts). */
  readonly firstOrderSequenceOf?: (saleId: string) => number;
  /** Whether a sale is served here (a cluster hands sales over); every sale when absent. */
  readonly serves?: (saleId: string) => boolean;
}

interface BatchReply {
  readonly envelope: Envelope;
  /** Sends the reply; UNAVAILABLE goes instead when the sale's events were lost. */
  readonly send: () => void;
}

interface Batch {
  readonly events: Event[];
  readonly replies: BatchReply[];
  readonly outbox: OutboxMessage[];
  /** `outboxSales[i]` is the sale of `outbox[i]`. */
  readonly outboxSales: string[];
  readonly statuses: Map<string, OrderStatusChange[]>;
  readonly stock: Set<string>;
}

function saleOfEvent(event: Event): string {
  if ('saleId' in event) return event.saleId;
  return present(saleIdOfOrderId(event.orderId), `the sale of order ${event.orderId}`);
}

/** The decision creates an order (as opposed to replaying one, or refusing). */
function placesOrder(decision: Decision): boolean {
  return decision.ok && decision.events.some((event) => event.type === 'OrderPlaced');
}

/** An order's latest history entry; a placed order has at least its CONFIRMED one. */
function lastEntry(order: OrderState): HistoryEntry {
  return present(order.history.at(-1), `history of order ${order.orderId}`);
}

function noteStatus(batch: Batch, saleId: string, change: OrderStatusChange): void {
  const changes = batch.statuses.get(saleId);
  if (changes === undefined) batch.statuses.set(saleId, [change]);
  else changes.push(change);
}

export class EngineActor {
  private readonly mailbox: Envelope[] = [];
  /** Taken from the mailbox but not yet answered (waiting for fsync). */
  private unanswered = 0;
  private drainScheduled = false;
  private accepting = true;
  /** Resolves when everything appended so far is durable. */
  private durableTail: Promise<unknown> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  /** Batches appended but not yet durable: their outbox messages are not in the outbox yet. */
  private readonly undurable = new Set<Batch>();
  /** The LSN of the last snapshot attempted, written or not. */
  private lastSnapshotLsn: number;
  /** The snapshot being written, while it is. */
  private snapshot: SnapshotCursor | null = null;
  /** Settles when the last snapshot begun is written (or has failed, which is logged). */
  private snapshotWritten: Promise<void> = Promise.resolve();

  constructor(private readonly options: ActorOptions) {
    this.lastSnapshotLsn = options.recoveredLsn;
  }

  get queued(): number {
    return this.mailbox.length + this.unanswered;
  }

  /** False when the mailbox is full or the actor is closing: answer OVERLOADED at once. */
  offer(envelope: Envelope): boolean {
    if (!this.accepting || this.queued >= this.options.mailboxCommandsMax) return false;
    this.mailbox.push(envelope);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
    return true;
  }

  /**
   * Stops taking envelopes; resolves once every queued one has been answered and a snapshot
   * already begun is written (a clean stop leaves the quickest restart).
   */
  async close(): Promise<void> {
    this.accepting = false;
    if (this.queued > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.snapshotWritten;
  }

  private drain(): void {
    this.drainScheduled = false;
    const envelopes = this.mailbox.splice(0, BATCH_COMMANDS_MAX);
    if (this.mailbox.length > 0) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
    const now = this.options.clock();
    const batch: Batch = {
      events: [],
      replies: [],
      outbox: [],
      outboxSales: [],
      statuses: new Map(),
      stock: new Set(),
    };
    for (const envelope of envelopes) this.handle(envelope, now, batch);
    this.unanswered += envelopes.length;
    this.commit(batch, envelopes.length);
  }

  private handle(envelope: Envelope, now: number, batch: Batch): void {
    const { saleId } = envelope;
    // Queued before the sale was handed over: another engine serves it now.
    if (this.options.serves?.(saleId) === false) {
      batch.replies.push({ envelope, send: () => envelope.respond(UNAVAILABLE) });
      return;
    }
    if (envelope.kind === 'query') {
      const reply = queryReply(this.options.state, saleId, envelope.request, now);
      batch.replies.push({ envelope, send: () => envelope.respond(reply) });
      return;
    }
    const reply = this.decideCommand(saleId, envelope.request, now, batch);
    batch.replies.push({ envelope, send: () => envelope.respond(reply) });
  }

  private decideCommand(
    saleId: string,
    request: EngineRequest,
    now: number,
    batch: Batch,
  ): CommandReply {
    const { state, effects } = this.options;
    const command = toCommand(saleId, request, now, this.options.firstOrderSequenceOf);
    if (isRejection(command)) return errorReply(command);
    const decision = decide(state, command);
    // Only a new order is refused (the outbox backlog is full): a replay of a stored one (I5) and
    // a rejection write nothing, so they are answered as ever.
    const refusal = placesOrder(decision) ? effects.refusal(saleId, now) : null;
    if (refusal !== null) return errorReply(refusal);
    if (decision.ok) for (const event of decision.events) this.apply(event, batch);
    if (command.type === 'RecordShippingStatus' && decision.ok && decision.events.length === 0)
      this.announceAgain(command.orderId, command.status, batch);
    return commandReply(state, decision, now);
  }

  /**
   * A report of the status an order already has is the agent trying again because it got no
   * answer: often the engine died after making the first durable and before announcing it, so
   * the notice goes out now (a live page may see it twice; it keys statuses by order).
   */
  private announceAgain(orderId: string, status: OrderStatus, batch: Batch): void {
    const order = orderOf(this.options.state, orderId);
    if (order?.status === status)
      noteStatus(batch, order.saleId, statusChangeOf(order, lastEntry(order)));
  }

  /** Applies an event and notes what to publish about it once it is durable. */
  private apply(event: Event, batch: Batch): void {
    const { state } = this.options;
    // A snapshot being written must keep the order as it was when it began.
    if (this.snapshot !== null && event.type === 'ShippingStatusRecorded')
      this.snapshot.preserve(present(orderOf(state, event.orderId), `order ${event.orderId}`));
    evolve(state, event);
    const lsn = this.options.log.lastLsn + batch.events.length + 1;
    batch.events.push(event);
    switch (event.type) {
      case 'SaleConfigured':
        batch.stock.add(event.saleId);
        return;
      case 'OrderPlaced': {
        const order = present(orderOf(state, event.orderId), `placed order ${event.orderId}`);
        batch.outbox.push(outboxMessageOf(order, lsn));
        batch.outboxSales.push(event.saleId);
        const confirmed = present(order.history[0], `history of order ${order.orderId}`);
        noteStatus(batch, event.saleId, statusChangeOf(order, confirmed));
        batch.stock.add(event.saleId);
        return;
      }
      case 'ShippingStatusRecorded': {
        const order = present(orderOf(state, event.orderId), `shipped order ${event.orderId}`);
        noteStatus(batch, order.saleId, statusChangeOf(order, lastEntry(order)));
        return;
      }
      // The waiting room publishes from its own ticker (queue-ticker.ts), not per event.
      case 'LobbyOpened':
      case 'QueueJoined':
      case 'LobbyDrawn':
      case 'QueueAdvanced':
      case 'QueueLeft':
      case 'QueueClosed':
        return;
      default: {
        const exhaustive: never = event;
        throw new Error(`unknown event ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  private commit(batch: Batch, envelopes: number): void {
    const { log, effects } = this.options;
    // Read now, not once durable: later batches will have changed the live state by then, and
    // a gateway told of orders that a failed fsync then loses would refuse SOLD_OUT wrongly.
    const stock = [...batch.stock].map((saleId) => stockOf(this.options.state, saleId));
    if (batch.events.length > 0) {
      // The outbox messages carry the LSNs apply() predicted: the log must agree (pair assertion).
      const predictedLsn = log.lastLsn + batch.events.length;
      this.durableTail = log
        .append(batch.events.map(encodeEvent), batch.events.map(saleOfEvent))
        .then((lastLsn) =>
          assert(
            lastLsn === predictedLsn,
            `the WAL gave the batch LSNs up to ${lastLsn}, the actor predicted ${predictedLsn}`,
          ),
        );
      this.undurable.add(batch);
      this.maybeSnapshot(this.durableTail);
    }
    this.durableTail.then(
      () => this.settle(batch, stock, envelopes, NONE_LOST),
      (error: unknown) => {
        if (!(error instanceof SalesLostError)) return this.options.onFatal(error);
        this.settle(batch, stock, envelopes, error.sales);
        effects.salesLost?.(error.sales);
      },
    );
  }

  /** Answers a durable batch and announces it, except what concerns the sales it lost. */
  private settle(
    batch: Batch,
    stock: readonly StockMessage[],
    envelopes: number,
    lost: ReadonlyMap<string, string>,
  ): void {
    const { effects } = this.options;
    this.undurable.delete(batch);
    for (const { envelope, send } of batch.replies)
      if (lost.has(envelope.saleId)) envelope.respond(UNAVAILABLE);
      else send();
    const outbox = batch.outbox.filter((_, i) => !lost.has(batch.outboxSales[i] ?? ''));
    if (outbox.length > 0) effects.confirmed(outbox);
    for (const [saleId, changes] of batch.statuses) {
      if (!lost.has(saleId)) effects.statusChanged({ type: 'orderStatus', saleId, changes });
    }
    for (const message of stock) if (!lost.has(message.saleId)) effects.stockChanged(message);
    this.answered(envelopes);
  }

  /**
   * The state now covers exactly `log.lastLsn`, so a snapshot begun here is exact. Its outbox part
   * is what the outbox holds plus the confirmed orders of batches still syncing. It is serialised
   * a step at a time between batches (see SnapshotCursor), and written once those events are
   * durable.
   */
  private maybeSnapshot(durable: Promise<unknown>): void {
    const { log, state, snapshots } = this.options;
    const lsn = log.lastLsn;
    if (this.snapshot !== null || lsn - this.lastSnapshotLsn < snapshots.everyRecords) return;
    // Counted before it is known to succeed: a snapshot that fails (a full disk, a payload over
    // the size limit) would otherwise be retried after every batch, each time serialising the
    // whole state again.
    this.lastSnapshotLsn = lsn;
    const nextAttemptLsn = lsn + snapshots.everyRecords;
    const cursor = new SnapshotCursor(state);
    this.snapshot = cursor;
    const syncing = [...this.undurable].flatMap((batch) => batch.outbox);
    this.snapshotWritten = snapshots
      .encode(cursor, [...snapshots.pendingOutbox(), ...syncing], nextTurn)
      .then(async (pieces) => {
        await durable;
        await log.writeSnapshot(lsn, pieces);
        snapshots.onWritten(lsn);
      })
      .catch((error: unknown) =>
        snapshots.onError(new SnapshotFailedError(lsn, nextAttemptLsn, error)),
      )
      .finally(() => {
        this.snapshot = null;
      });
  }

  private answered(count: number): void {
    this.unanswered -= count;
    if (this.queued === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/** The stock message of a sale the state holds (a batch named it, so it exists). */
export function stockOf(state: EngineState, saleId: string): StockMessage {
  const sale = state.sales.get(saleId);
  if (sale === undefined) throw new Error(`no sale ${saleId} for a stock message`);
  const { stock } = sale.settings;
  return { type: 'stock', saleId, stock, remaining: stock - sale.sold };
}
