import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { present } from '../core/assert.js';
import type { EngineState, SaleState } from '../core/types.js';
import type { CatalogueEntry } from '../protocol/catalogue.js';
import { stockOf } from './actor.js';
import type { EngineHealth } from './health.js';
import type { SaleLeases } from './lease.js';
import type { NatsService } from './nats-service.js';
import { outboxMessageOf } from './order-messages.js';
import type { OutboxMessage } from './outbox.js';
import type { ReplicatedLog } from './replicated-log.js';
import { appendRecord, lastSaleLogSequenceWhile, SaleLogFencedError } from './sale-log.js';
import { SaleLogFollower } from './sale-log-follower.js';
import { SALE_SNAPSHOT_EVERY_RECORDS, type SaleSnapshots } from './sale-snapshots.js';
import type { StockPublisher } from './stock-publisher.js';

// The sales of a cluster engine (I8): every sale of the catalogue is either owned here (its lease
// is ours, its records go to its replicated log) or followed as a warm standby (its log applied
// to a replica in memory). When a followed sale's lease is free — its owner died, or stopped — the
// engine takes it: lease, catch up to the log's end, a fence record with its epoch, then the state
// moves into the live one and the sale is served. The engine a sale was placed on tries first;
// the others wait TAKEOVER_GRACE_MS, so a healthy pool keeps the placement it chose. A sale this
// engine loses (its lease taken, or its log refusing our record) goes back to being followed:
// the engine's other sales are not touched. Standbys also snapshot what they follow, every
// SALE_SNAPSHOT_EVERY_RECORDS records, which trims the log (sale-snapshots.ts).

/** How often a standby checks whether the leases of the sales it follows are free. */
export const TAKEOVER_POLL_MS = 250;
/** How long an engine other than the sale's own waits, once its lease is free, before taking it. */
export const TAKEOVER_GRACE_MS = 2 * TAKEOVER_POLL_MS;
/** How long a takeover may wait for its replica to reach the log's end. */
const CATCH_UP_TIMEOUT_MS = 10_000;
/**
 * How long a takeover waits for the standing follower before starting a fresh one: a standby
 * that kept up needs milliseconds, and one whose consumer lived on the NATS node that died with
 * the owner's machine would otherwise wait for its heartbeats to say so.
 */
const STANDBY_CATCH_UP_MS = 2_000;
/**
 * How long a takeover waits for its follower to read its own fence before a fresh one. Longer
 * than STANDBY_CATCH_UP_MS: reading the fence took up to 2 s in machine-loss rounds where a fresh
 * follower cost 5 s; and by then a consumer left on a node still catching up after its loss has
 * missed two heartbeats (the follower's pulls) and been made again. Seen once: such a follower
 * did not read the fence in 10 s, the takeover gave up, and the sale was served 17 s after the
 * loss.
 */
const FENCE_READ_STANDING_MS = 5_000;
/** Fences tried in a row, each after reading what the one before found appended. */
const FENCE_ATTEMPTS_MAX = 5;

export interface ClusterParts {
  readonly js: JetStreamClient;
  /** Its requests time out after SALE_LOG_READ_TIMEOUT_MS: for the takeover's reads. */
  readonly quickJsm: JetStreamManager;
  readonly walId: string;
  readonly salesMax: number;
  readonly leases: SaleLeases;
  readonly log: ReplicatedLog;
  readonly snapshots: SaleSnapshots;
  readonly service: NatsService;
  readonly stock: StockPublisher;
  readonly state: EngineState;
  readonly health: EngineHealth;
  /** Confirmed orders a takeover found not yet shipped: published again to ORDERS. */
  readonly republish: (messages: readonly OutboxMessage[]) => void;
  /** The LSN the republished messages carry (they are durable already). */
  readonly lastLsn: () => number;
  readonly logger: Logger;
}

async function within<T>(promise: Promise<T>, timeoutMs: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Followed {
  readonly home: string;
  follower: SaleLogFollower | null;
  freeSince: number | null;
  /** The log sequence of the last snapshot this engine wrote or started from. */
  snapshotSequence: number;
}

export class ClusterSales {
  private readonly sales = new Map<string, Followed>();
  private readonly owned = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private snapshotting = false;

  constructor(private readonly parts: ClusterParts) {}

  get count(): number {
    return this.owned.size;
  }

  owns(saleId: string): boolean {
    return this.owned.has(saleId);
  }

  /**
   * Stops serving a sale this engine lost, drops its state (it may hold decisions the log never
   * stored) and follows its log again, so the engine can take it back once its lease is free.
   */
  relinquish(saleId: string, why: string): void {
    const { service, log, state, health, leases, logger } = this.parts;
    if (!this.owned.delete(saleId)) return;
    service.unserve(saleId);
    log.disown(saleId);
    state.sales.delete(saleId);
    health.remove(saleId);
    const followed = this.sales.get(saleId);
    if (followed !== undefined) followed.freeSince = null;
    logger.error({ saleId, why }, 'lost the sale; following its log again');
    void leases.releaseOne(saleId);
  }

  /** A sale of the catalogue: followed from now on; taken at once when it was placed here. */
  add(entry: CatalogueEntry): void {
    if (this.sales.has(entry.saleId)) return;
    const followed: Followed = {
      home: entry.walId,
      follower: null,
      freeSince: null,
      snapshotSequence: 0,
    };
    this.sales.set(entry.saleId, followed);
    void this.follow(entry.saleId, followed).then(() => {
      if (entry.walId === this.parts.walId) return this.tryTake(entry.saleId);
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), TAKEOVER_POLL_MS);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const followed of this.sales.values()) followed.follower?.stop();
  }

  private async follow(saleId: string, followed: Followed): Promise<void> {
    const { js, logger, snapshots } = this.parts;
    try {
      const follower = await SaleLogFollower.start(js, saleId, logger, snapshots);
      followed.follower = follower;
      followed.snapshotSequence = follower.replica.lastSequence;
    } catch (error) {
      this.parts.logger.warn({ saleId, err: error }, 'cannot follow the sale log yet');
    }
  }

  /** One round of the standby's watch: a free lease is taken (after the grace, if not ours). */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [saleId, followed] of this.sales) {
        if (this.owned.has(saleId)) {
          // A lease lost while its takeover was still under way was not handed back then.
          if (this.parts.leases.epochOf(saleId) === undefined)
            this.relinquish(saleId, 'its lease is no longer held');
          continue;
        }
        if (followed.follower?.broken) followed.follower = null;
        if (followed.follower === null) await this.follow(saleId, followed);
        this.maybeSnapshot(saleId, followed);
        if (!(await this.parts.leases.isFree(saleId).catch(() => false))) {
          followed.freeSince = null;
          continue;
        }
        followed.freeSince ??= Date.now();
        const ours = followed.home === this.parts.walId;
        if (ours || Date.now() - followed.freeSince >= TAKEOVER_GRACE_MS)
          await this.tryTake(saleId);
      }
    } finally {
      this.polling = false;
    }
  }

  /** One snapshot at a time per engine, in the background: the watch goes on meanwhile. */
  private maybeSnapshot(saleId: string, followed: Followed): void {
    const replica = followed.follower?.replica;
    if (replica === undefined || this.snapshotting) return;
    if (replica.lastSequence - followed.snapshotSequence < SALE_SNAPSHOT_EVERY_RECORDS) return;
    this.snapshotting = true;
    const sequence = replica.lastSequence;
    void this.parts.snapshots
      .write(replica)
      .then(() => {
        followed.snapshotSequence = sequence;
      })
      .catch((error: unknown) =>
        this.parts.logger.warn({ saleId, err: error }, 'could not snapshot the sale log'),
      )
      .finally(() => {
        this.snapshotting = false;
      });
  }

  private async tryTake(saleId: string): Promise<void> {
    const { leases, logger, salesMax } = this.parts;
    if (this.owned.has(saleId) || this.owned.size >= salesMax) return;
    if (!(await leases.acquire(saleId, AbortSignal.abort()))) return;
    try {
      await this.takeOver(saleId);
    } catch (error) {
      logger.error({ saleId, err: error }, `could not take over sale ${saleId}; freeing its lease`);
      // Followed again from the next poll on, by a follower of its own.
      const followed = this.sales.get(saleId);
      followed?.follower?.stop();
      if (followed !== undefined) followed.follower = null;
      this.owned.delete(saleId);
      this.parts.log.disown(saleId);
      await leases.releaseOne(saleId);
    }
  }

  private async takeOver(saleId: string): Promise<void> {
    const { leases, log, service, stock, state, health, logger } = this.parts;
    const followed = present(this.sales.get(saleId), `followed sale ${saleId}`);
    const epoch = present(leases.epochOf(saleId), `the epoch of sale ${saleId}`);
    const current = followed.follower?.broken ? null : followed.follower;
    let follower = current ?? (await this.startFollower(saleId));
    const fenced = await this.fence(saleId, epoch, follower);
    const fenceSequence = fenced.sequence;
    follower = fenced.follower;
    // Read through our own fence: a deposed owner's record stored just before it (nats-server
    // #4320 lets both land) is in every standby's state, so it must be in ours too.
    follower = await this.caughtUp(saleId, follower, fenceSequence, FENCE_READ_STANDING_MS);
    follower.stop();
    followed.follower = null;
    const sale = follower.replica.sale;
    if (sale !== undefined) state.sales.set(saleId, sale);
    log.own(saleId, epoch, fenceSequence);
    this.owned.add(saleId);
    if (sale !== undefined) {
      stock.update(stockOf(state, saleId));
      this.parts.republish(this.unshipped(sale));
    }
    service.serve(saleId);
    health.add(saleId);
    logger.info(
      {
        saleId,
        epoch,
        fenceSequence,
        orders: sale?.orders.length ?? 0,
        fenced: follower.replica.fenced,
      },
      'serving a sale from its replicated log',
    );
  }

  /**
   * Reads the log to its end and appends our fence after it. Another append in between (the
   * deposed owner's last) makes the fence fail: read that one too, and try again.
   */
  private async fence(saleId: string, epoch: number, standing: SaleLogFollower) {
    const { js, quickJsm, leases } = this.parts;
    const stillOurs = () => leases.isValid(saleId);
    let follower = standing;
    for (let attempt = 1; ; attempt += 1) {
      const last = await lastSaleLogSequenceWhile(quickJsm, saleId, stillOurs);
      follower = await this.caughtUp(saleId, follower, last);
      // Epochs are lease revisions: a newer owner fenced after our lease was taken, so that
      // lease is stale (it lapsed while we were catching up). A fence of ours would be ignored.
      if (epoch <= follower.replica.epoch)
        throw new SaleLogFencedError(
          `sale ${saleId} was fenced at epoch ${follower.replica.epoch}, ours is ${epoch}`,
        );
      const target = { saleId, epoch, expectedSequence: last, kind: 'fence' as const };
      try {
        return { sequence: await appendRecord(js, target, new Uint8Array(0), stillOurs), follower };
      } catch (error) {
        if (!(error instanceof SaleLogFencedError) || attempt >= FENCE_ATTEMPTS_MAX) throw error;
      }
    }
  }

  /** The follower once it has read up to `last`: this one, or a fresh one if it lags. */
  private async caughtUp(
    saleId: string,
    follower: SaleLogFollower,
    last: number,
    standingMs = STANDBY_CATCH_UP_MS,
  ) {
    try {
      await within(follower.caughtUp(last), standingMs, 'the standby lags');
      return follower;
    } catch {
      follower.stop();
      const fresh = await this.startFollower(saleId);
      try {
        await within(fresh.caughtUp(last), CATCH_UP_TIMEOUT_MS, 'the replica did not catch up');
      } catch (error) {
        fresh.stop();
        throw error;
      }
      return fresh;
    }
  }

  private startFollower(saleId: string): Promise<SaleLogFollower> {
    const { js, logger, snapshots } = this.parts;
    return SaleLogFollower.start(js, saleId, logger, snapshots);
  }

  /** Confirmed orders no shipping status has followed yet: they may have missed ORDERS. */
  private unshipped(sale: SaleState): OutboxMessage[] {
    const lsn = this.parts.lastLsn();
    return sale.orders
      .filter((order) => order.status === 'CONFIRMED')
      .map((order) => outboxMessageOf(order, lsn));
  }
}
