import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { rejection } from '../core/errors.js';
import {
  type CommandReply,
  decodeCommandRequest,
  decodeQueryRequest,
  encodeMessage,
  errorReply,
  type QueryReply,
} from '../protocol/messages.js';
import { saleCommandSubject, saleQuerySubject } from '../protocol/subjects.js';
import type { EngineActor, Envelope } from './actor.js';
import type { EngineMetrics } from './metrics.js';

// NATS request-reply in front of the actor: one subscription per owned sale and kind. Every
// message is size-checked and schema-checked before the actor sees it; a bad one gets an error
// reply and changes nothing.

type Respond = (reply: CommandReply | QueryReply) => void;

export class NatsService {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly actor: EngineActor,
    /** The lease is still ours (I6): checked for every command, so a lapsed one stops us at once. */
    private readonly isLeased: (saleId: string) => boolean,
    private readonly metrics: EngineMetrics,
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
    const respond = this.responder(msg, 'command');
    if (!decoded.ok) respond(errorReply(decoded.rejection));
    else if (!this.isLeased(saleId)) respond(errorReply(rejection('ENGINE_UNAVAILABLE')));
    else this.offer(respond, { kind: 'command', saleId, request: decoded.value, respond });
  }

  private onQuery(saleId: string, msg: Msg): void {
    if (!msg.reply) return;
    const decoded = decodeQueryRequest(msg.data);
    const respond = this.responder(msg, 'query');
    if (!decoded.ok) respond(errorReply(decoded.rejection));
    else this.offer(respond, { kind: 'query', saleId, request: decoded.value, respond });
  }

  private offer(respond: Respond, envelope: Envelope): void {
    if (!this.actor.offer(envelope)) respond(errorReply(rejection('OVERLOADED')));
  }

  private responder(msg: Msg, kind: 'command' | 'query'): Respond {
    return (reply) => {
      this.metrics.answered(kind, reply);
      msg.respond(encodeMessage(reply));
    };
  }
}
