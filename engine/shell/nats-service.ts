import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { rejection } from '../core/errors.js';
import {
  type BatchReply,
  type CommandReply,
  decodeCommandMessage,
  decodeQueryRequest,
  type ErrorReply,
  encodeMessage,
  errorReply,
  type QueryReply,
} from '../protocol/messages.js';
import type { PlaceOrdersRequest } from '../protocol/schemas.js';
import { saleCommandSubject, saleQuerySubject } from '../protocol/subjects.js';
import type { EngineActor, Envelope } from './actor.js';
import type { EngineMetrics } from './metrics.js';
import { QUEUE_TICK_MS_DEFAULT, QueueTicker } from './queue-ticker.js';

// NATS request-reply in front of the actor: one subscription per owned sale and kind. Every
// message is size-checked and schema-checked before the actor sees it; a bad one gets an error
// reply and changes nothing.

type Respond = (reply: CommandReply | QueryReply) => void;

export class NatsService {
  private readonly subscriptions = new Map<string, Subscription[]>();
  /** Every sale served here gets the waiting room's beat (a no-op for a sale without one). */
  private readonly queues: QueueTicker;

  constructor(
    private readonly nc: NatsConnection,
    private readonly actor: EngineActor,
    /** The lease is still ours (I6): checked for every command, so a lapsed one stops us at once. */
    private readonly isLeased: (saleId: string) => boolean,
    private readonly metrics: EngineMetrics,
    queueTickMs = QUEUE_TICK_MS_DEFAULT,
  ) {
    this.queues = new QueueTicker(nc, actor, isLeased, queueTickMs);
  }

  serve(saleId: string): void {
    // Callbacks run as messages arrive, so nothing piles up in the client: the actor's bounded
    // mailbox is the one queue, and it answers OVERLOADED when full.
    if (this.subscriptions.has(saleId)) return;
    this.subscriptions.set(saleId, [
      this.nc.subscribe(saleCommandSubject(saleId), {
        callback: (_e, msg) => this.onCommand(saleId, msg),
      }),
      this.nc.subscribe(saleQuerySubject(saleId), {
        callback: (_e, msg) => this.onQuery(saleId, msg),
      }),
    ]);
    this.queues.add(saleId);
  }

  /** Stops taking the sale's requests at once (another engine takes it over). */
  unserve(saleId: string): void {
    this.queues.remove(saleId);
    for (const sub of this.subscriptions.get(saleId) ?? []) sub.unsubscribe();
    this.subscriptions.delete(saleId);
  }

  /** Stops taking requests; those already received are still answered by the actor. */
  async stop(): Promise<void> {
    this.queues.stop();
    const subscriptions = [...this.subscriptions.values()].flat();
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((sub) => sub.drain()));
  }

  private onCommand(saleId: string, msg: Msg): void {
    if (!msg.reply) return;
    const decoded = decodeCommandMessage(msg.data);
    if (!decoded.ok) this.refuse(msg, errorReply(decoded.rejection));
    else if (!this.isLeased(saleId)) this.refuse(msg, errorReply(rejection('ENGINE_UNAVAILABLE')));
    else if (decoded.value.type === 'PlaceOrders') this.offerBatch(saleId, decoded.value, msg);
    else {
      const respond = this.responder(msg, 'command');
      this.offer(respond, { kind: 'command', saleId, request: decoded.value, respond });
    }
  }

  /** A command or a whole batch refused before the actor saw it. */
  private refuse(msg: Msg, reply: ErrorReply): void {
    this.metrics.answered('command', reply);
    msg.respond(encodeMessage(reply));
  }

  /**
   * Each order of a batch goes to the actor as if it had come alone, in the batch's order; the
   * batch is answered once every order has its reply (they all become durable in the same group
   * commit or the next one).
   */
  private offerBatch(saleId: string, batch: PlaceOrdersRequest, msg: Msg): void {
    const replies: CommandReply[] = new Array(batch.orders.length);
    let waiting = batch.orders.length;
    batch.orders.forEach((request, index) => {
      const respond = (reply: CommandReply): void => {
        this.metrics.answered('command', reply);
        replies[index] = reply;
        waiting -= 1;
        if (waiting > 0) return;
        const answer: BatchReply = { ok: true, kind: 'batch', replies };
        msg.respond(encodeMessage(answer));
      };
      this.offer(respond, { kind: 'command', saleId, request, respond });
    });
  }

  private onQuery(saleId: string, msg: Msg): void {
    if (!msg.reply) return;
    const decoded = decodeQueryRequest(msg.data);
    const respond = this.responder(msg, 'query');
    if (!decoded.ok) respond(errorReply(decoded.rejection));
    else this.offer(respond, { kind: 'query', saleId, request: decoded.value, respond });
  }

  private offer(respond: (reply: ErrorReply) => void, envelope: Envelope): void {
    if (!this.actor.offer(envelope)) respond(errorReply(rejection('OVERLOADED')));
  }

  private responder(msg: Msg, kind: 'command' | 'query'): Respond {
    return (reply) => {
      this.metrics.answered(kind, reply);
      msg.respond(encodeMessage(reply));
    };
  }
}
