import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import {
  EPOCH_HEADER,
  KIND_HEADER,
  SALE_LOG_STREAM,
  type SaleLogKind,
  saleLogSubject,
} from './sale-log.js';
import { SaleLogGapError, type SaleLogRecord, SaleReplica } from './sale-replica.js';
import type { SaleSnapshots } from './sale-snapshots.js';

// A warm standby of one sale: an ordered consumer of the sale's replicated log from its newest
// snapshot (or its start), applying each record to a SaleReplica as it is stored, so that a
// takeover only has to read the few records written since and move the state over. A follower
// that finds records missing stops (`broken`): its owner starts a new one from the snapshot.

/**
 * How long each pull of a follower waits. The client's heartbeats are half of it, and two missed
 * tell it the consumer is gone (its NATS node died) and to make a new one: with the default 30 s
 * a standby could stall that long after losing the node its consumer lived on.
 */
const FOLLOW_PULL_EXPIRES_MS = 5_000;

/** The sequence a record's writer expected before it, from its message id (`sale:epoch:seq`). */
function expectedOf(msg: JsMsg): number | undefined {
  const id = msg.headers?.get('Nats-Msg-Id') ?? '';
  const expected = Number(id.slice(id.lastIndexOf(':') + 1));
  return id === '' || !Number.isSafeInteger(expected) ? undefined : expected;
}

export function recordOf(msg: JsMsg): SaleLogRecord {
  const expected = expectedOf(msg);
  return {
    seq: msg.seq,
    epoch: Number(msg.headers?.get(EPOCH_HEADER) ?? 0),
    kind: (msg.headers?.get(KIND_HEADER) ?? 'events') as SaleLogKind,
    data: msg.data,
    ...(expected === undefined ? {} : { expected }),
  };
}

export class SaleLogFollower {
  private messages: ConsumerMessages | null = null;
  private waiters: { seq: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Reading stopped on an error (a gap in the log): this follower is to be replaced. */
  broken = false;

  private constructor(readonly replica: SaleReplica) {}

  static async start(
    js: JetStreamClient,
    saleId: string,
    logger: Logger,
    snapshots: SaleSnapshots | null = null,
  ) {
    const snapshot = await snapshots?.latest(saleId);
    const replica =
      snapshot === null || snapshot === undefined
        ? new SaleReplica(saleId)
        : new SaleReplica(saleId, snapshot.state, snapshot.head.sequence, snapshot.head.epoch);
    const follower = new SaleLogFollower(replica);
    const consumer = await js.consumers.get(SALE_LOG_STREAM, {
      // One subject as a string: nats-server 2.9 knows `filter_subject`, not the 2.10 list.
      filter_subjects: saleLogSubject(saleId),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: replica.lastSequence + 1,
    });
    follower.messages = await consumer.consume({ expires: FOLLOW_PULL_EXPIRES_MS });
    void follower.read(follower.messages).catch((error: unknown) => {
      follower.broken = true;
      follower.stop();
      for (const waiter of follower.waiters.splice(0)) waiter.reject(error);
      // A gap is the log trimmed under a lagging follower: expected, and mended by a new one.
      const level = error instanceof SaleLogGapError ? 'warn' : 'error';
      logger[level]({ saleId, err: error }, 'stopped following the sale log');
    });
    return follower;
  }

  private async read(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.messages === null) return; // stopped: the state has moved to its new owner
      this.replica.apply(recordOf(msg));
      const due = this.waiters.filter((w) => w.seq <= this.replica.lastSequence);
      this.waiters = this.waiters.filter((w) => w.seq > this.replica.lastSequence);
      for (const waiter of due) waiter.resolve();
    }
  }

  /** Resolves once every record up to `seq` is applied. */
  caughtUp(seq: number): Promise<void> {
    if (seq <= this.replica.lastSequence) return Promise.resolve();
    if (this.broken) return Promise.reject(new Error('this follower stopped on an error'));
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  stop(): void {
    this.messages?.stop();
    this.messages = null;
  }
}
