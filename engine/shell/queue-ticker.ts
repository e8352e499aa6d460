import type { NatsConnection } from '@nats-io/transport-node';
import {
  ADMISSIONS_MESSAGE_CUSTOMERS_MAX,
  type AdmissionsMessage,
  type CommandReply,
  encodeMessage,
  type QueueMessage,
} from '../protocol/messages.js';
import { saleAdmissionsSubject, saleQueueSubject } from '../protocol/subjects.js';
import type { EngineActor } from './actor.js';

// The waiting room's clock: every ADMISSION_TICK_MS each served sale gets a TickQueue through the
// actor's mailbox, like any command (so opening the lobby, the draw, admissions and the close are
// decided by the single writer and logged before anyone hears of them). Its answer, once durable,
// is published: the tick's admissions on `sale.<id>.admissions` (for the customers' own sockets)
// at once, and the queue message on `sale.<id>.queue` (the same for everyone) every QUEUE_TICK_MS.
// At most one tick per sale is in flight: a backed-up engine ticks less often, admits less, and
// says `slowed`.

export const QUEUE_TICK_MS_DEFAULT = 250;
/**
 * How often admissions are decided. The rate rule (never more than admitPerSecond in any second,
 * both ends counted) lets the ticks that fit in one second admit the rate between them: with a
 * tick every 250 ms five may fit, and admissions ran 12% short of the rate (bench:waiting-room);
 * with one every 50 ms the last tick of a second gives up a twentieth at most.
 */
export const ADMISSION_TICK_MS = 50;
/** A sale without a waiting room is asked again this often (one may be set later). */
export const QUEUE_IDLE_RECHECK_MS = 1_000;

interface TickedSale {
  inflight: boolean;
  /** When its last queue message was published. */
  publishedAt: number;
  /** A tick was skipped or refused since the last answer. */
  slowed: boolean;
  idleUntil: number;
}

export class QueueTicker {
  private readonly sales = new Map<string, TickedSale>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly actor: EngineActor,
    private readonly isLeased: (saleId: string) => boolean,
    /** QUEUE_TICK_MS: how often the queue message goes out. */
    private readonly publishEveryMs: number = QUEUE_TICK_MS_DEFAULT,
  ) {}

  private get tickMs(): number {
    return Math.min(ADMISSION_TICK_MS, this.publishEveryMs);
  }

  add(saleId: string): void {
    if (!this.sales.has(saleId))
      this.sales.set(saleId, { inflight: false, publishedAt: 0, slowed: false, idleUntil: 0 });
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  remove(saleId: string): void {
    this.sales.delete(saleId);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sales.clear();
  }

  private tick(): void {
    const now = Date.now();
    for (const [saleId, sale] of this.sales) {
      if (now < sale.idleUntil || !this.isLeased(saleId)) continue;
      if (sale.inflight) {
        sale.slowed = true;
        continue;
      }
      sale.inflight = true;
      const offered = this.actor.offer({
        kind: 'command',
        saleId,
        request: { type: 'TickQueue' },
        respond: (reply) => this.answered(saleId, sale, reply),
      });
      if (!offered) {
        sale.inflight = false;
        sale.slowed = true;
      }
    }
  }

  private answered(saleId: string, sale: TickedSale, reply: CommandReply): void {
    sale.inflight = false;
    if (!reply.ok || reply.kind !== 'tick' || reply.queue === null) {
      sale.idleUntil = Date.now() + QUEUE_IDLE_RECHECK_MS;
      return;
    }
    if (this.nc.isClosed()) return;
    // Half a tick early is on time: ticks drift, and waiting for the next would skip a message.
    const now = Date.now();
    if (now - sale.publishedAt >= this.publishEveryMs - this.tickMs / 2) {
      const queue: QueueMessage = { type: 'queue', ...reply.queue, slowed: sale.slowed };
      sale.slowed = false;
      sale.publishedAt = now;
      this.nc.publish(saleQueueSubject(saleId), encodeMessage(queue));
    }
    if (reply.admissions.length > 0) this.publishAdmissions(saleId, reply.admissions, []);
    const chunk = ADMISSIONS_MESSAGE_CUSTOMERS_MAX;
    for (let from = 0; from < reply.closed.length; from += chunk)
      this.publishAdmissions(saleId, [], reply.closed.slice(from, from + chunk));
  }

  private publishAdmissions(
    saleId: string,
    admissions: AdmissionsMessage['admissions'],
    closed: readonly string[],
  ): void {
    const message: AdmissionsMessage = {
      type: 'admissions',
      saleId,
      admissions,
      ...(closed.length > 0 ? { closed } : {}),
    };
    this.nc.publish(saleAdmissionsSubject(saleId), encodeMessage(message));
  }
}
