import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { type Rejection, rejection } from '../core/errors.js';
import {
  decodeCommandRequest,
  decodeQueryRequest,
  encodeMessage,
  errorReply,
} from '../protocol/messages.js';
import { saleCommandSubject, saleQuerySubject } from '../protocol/subjects.js';
import type { EngineActor, Envelope } from './actor.js';

// NATS request-reply in front of the actor: one subscription per owned sale and kind. Every
// message is size-checked and schema-checked before the actor sees it; a bad one gets an error
// reply and changes nothing.

export class NatsService {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly actor: EngineActor,
    /** The lease is still ours (I6): checked for every command, so a lapsed one stops us at once. */
    private readonly isLeased: (saleId: string) => boolean,
  ) {}

  serve(saleId: string): void {
    // Callbacks run as messages arrive, so nothing piles up in the client: the actor's bounded
    // mailbox is the one queue, and it answers OVERLOADED when full.
    this.subscriptions.push(
      this.nc.subscribe(saleCommandSubject(saleId), {
        callback: (_e, msg) => this.onCommand(saleId, msg),
      }),
      this.nc.subscribe(saleQuerySubject(saleId), {
        callback: (_e, msg) => this.onQuery(saleId, msg),
      }),
    );
  }

  /** Stops taking requests; those already received are still answered by the actor. */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((sub) => sub.drain()));
  }

  private onCommand(saleId: string, msg: Msg): void {
    if (!msg.reply) return;
    const decoded = decodeCommandRequest(msg.data);
    const respond = (reply: unknown) => msg.respond(encodeMessage(reply));
    if (!decoded.ok) this.refuse(msg, decoded.rejection);
    else if (!this.isLeased(saleId)) this.refuse(msg, rejection('ENGINE_UNAVAILABLE'));
    else this.offer(msg, { kind: 'command', saleId, request: decoded.value, respond });
  }

  private onQuery(saleId: string, msg: Msg): void {
    if (!msg.reply) return;
    const decoded = decodeQueryRequest(msg.data);
    const respond = (reply: unknown) => msg.respond(encodeMessage(reply));
    if (!decoded.ok) this.refuse(msg, decoded.rejection);
    else this.offer(msg, { kind: 'query', saleId, request: decoded.value, respond });
  }

  private offer(msg: Msg, envelope: Envelope): void {
    if (!this.actor.offer(envelope)) this.refuse(msg, rejection('OVERLOADED'));
  }

  private refuse(msg: Msg, why: Rejection): void {
    msg.respond(encodeMessage(errorReply(why)));
  }
}
