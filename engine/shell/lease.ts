import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { LEASE_BUCKET } from '../protocol/subjects.js';

// Single writer per sale (I6): an engine serves a sale only while it holds the sale's lease, a
// key in a JetStream KV bucket whose entries expire LEASE_TTL_MS after their last write. `create`
// succeeds only when nobody holds the key; renewals are compare-and-set on the revision, so two
// engines can't both believe they hold it. A lease counts as valid locally for a little less
// than the TTL after the renewal was *sent* (the server's clock starts later), so an engine cut
// off from NATS stops serving before anyone else can take over.

/** Share of the TTL after which our own view of the lease lapses (the rest is safety margin). */
const LEASE_VALIDITY_SHARE = 0.8;
const RENEWALS_PER_TTL = 3;
/** A standby checks the lease this often (a KV read: cheap), so it takes over promptly. */
const STANDBY_POLL_MS_MAX = 500;

export interface LeaseHolder {
  readonly engineId: string;
  readonly walId: string;
  readonly host: string;
  readonly pid: number;
}

interface Held {
  revision: number;
  validUntil: number;
  /**
   * The revision the lease had when this engine took it: the owner's epoch in the sale's
   * replicated log. Revisions only grow, so a later owner always has a higher epoch.
   */
  epoch: number;
}

const encoder = new TextEncoder();

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SaleLeases {
  private readonly held = new Map<string, Held>();
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly value: Uint8Array;

  private constructor(
    private readonly kv: KV,
    private readonly holder: LeaseHolder,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.value = encoder.encode(JSON.stringify(holder));
  }

  static async open(
    nc: NatsConnection,
    ttlMs: number,
    holder: Omit<LeaseHolder, 'host' | 'pid'>,
    logger: Logger,
    replicas = 1,
  ) {
    const kv = await new Kvm(nc).create(LEASE_BUCKET, { ttl: ttlMs, history: 1, replicas });
    const status = await kv.status();
    if (status.ttl !== ttlMs)
      throw new Error(
        `lease bucket ${LEASE_BUCKET} expires keys after ${status.ttl} ms but LEASE_TTL_MS is ${ttlMs}; ` +
          'every engine must use the same LEASE_TTL_MS',
      );
    return new SaleLeases(kv, { ...holder, host: hostname(), pid: process.pid }, ttlMs, logger);
  }

  get validCount(): number {
    let count = 0;
    for (const saleId of this.held.keys()) if (this.isValid(saleId)) count += 1;
    return count;
  }

  /** The epoch of a lease we hold (see Held.epoch), undefined when we hold none. */
  epochOf(saleId: string): number | undefined {
    return this.held.get(saleId)?.epoch;
  }

  isValid(saleId: string): boolean {
    const held = this.held.get(saleId);
    return held !== undefined && performance.now() < held.validUntil;
  }

  /** True when nobody holds the sale's lease now (a standby's cheap check: one KV read). */
  async isFree(saleId: string): Promise<boolean> {
    const entry = await this.kv.get(saleId);
    return entry === null || entry.operation !== 'PUT';
  }

  /** Frees one sale's lease (a takeover that failed half-way), so another engine can take it. */
  async releaseOne(saleId: string): Promise<void> {
    const held = this.held.get(saleId);
    if (held === undefined) return;
    this.held.delete(saleId);
    await this.release(saleId, held.revision);
  }

  /** Waits until every sale's lease is ours, standing by (with one clear log line) for the others. */
  async acquireAll(saleIds: readonly string[], signal: AbortSignal): Promise<void> {
    const announced = new Set<string>();
    for (;;) {
      for (const saleId of saleIds) {
        const held = this.held.get(saleId);
        if (held !== undefined) {
          // Kept while we stand by for the others (renewal proper starts once we serve); one we
          // could not keep is taken afresh below, or announced as someone else's.
          if (await this.keep(saleId, held)) continue;
          this.held.delete(saleId);
        }
        const other = await this.tryAcquire(saleId);
        if (other !== null && other !== undefined && !announced.has(saleId)) {
          announced.add(saleId);
          this.logger.error(
            { saleId, owner: other },
            `sale ${saleId} is served by engine ${other.engineId} (pid ${other.pid} on ${other.host}); ` +
              'refusing to serve it, standing by until its lease expires',
          );
        }
      }
      if (this.held.size === saleIds.length || signal.aborted) return;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(this.ttlMs / 4, STANDBY_POLL_MS_MAX)),
      );
    }
  }

  /**
   * Takes one more sale's lease while serving others (a sale placed here): true once it is ours,
   * false if `signal` aborts first (another engine holds it, and keeps it).
   */
  async acquire(saleId: string, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if ((await this.tryAcquire(saleId)) === null) return true;
      if (signal.aborted) return false;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(this.ttlMs / 4, STANDBY_POLL_MS_MAX)),
      );
    }
  }

  /**
   * Renews every held lease now, taking again one that expired meanwhile: recovering a large WAL
   * blocks the event loop, so no renewal runs, for longer than the lease is valid (seconds for a
   * million orders). Throws when one can't be had: another engine took it, or NATS won't say.
   */
  async reaffirmAll(): Promise<void> {
    for (const [saleId, held] of this.held) {
      if (await this.keep(saleId, held)) continue;
      this.held.delete(saleId);
      const other = await this.tryAcquire(saleId);
      if (other === null) continue;
      throw new Error(
        `lost the lease of sale ${saleId} while the WAL was recovered` +
          (other === undefined ? '' : ` (engine ${other.engineId} holds it now)`),
      );
    }
  }

  private async keep(saleId: string, held: Held): Promise<boolean> {
    const sentAt = performance.now();
    try {
      this.hold(saleId, await this.kv.update(saleId, this.value, held.revision), sentAt);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Null when the lease is now ours; the holder when another engine has it; undefined when nobody
   * holds it but it slipped away this time (deleted or expired between our two calls): the
   * callers try again on their own schedule.
   */
  private async tryAcquire(saleId: string): Promise<LeaseHolder | null | undefined> {
    const sentAt = performance.now();
    try {
      this.hold(saleId, await this.kv.create(saleId, this.value), sentAt, true);
      return null;
    } catch {
      // Held by somebody (or the request failed): see by whom.
    }
    try {
      const entry = await this.kv.get(saleId);
      if (entry === null || entry.operation !== 'PUT') return undefined;
      const other = entry.json<LeaseHolder>();
      if (!this.isOurDeadPredecessor(other)) return other;
      // Same WAL directory, same host, process gone: the lease can't be in use. Take it now
      // rather than after the TTL, so a crashed engine's restart is quick.
      this.logger.warn(
        { saleId, previous: other },
        'taking over the lease of a dead engine on this WAL',
      );
      this.hold(saleId, await this.kv.update(saleId, this.value, entry.revision), sentAt, true);
      return null;
    } catch (error) {
      // The entry changed between our calls (it expired, or another engine took it first), or
      // NATS did not answer in time: nothing is ours, so try again on the next poll.
      this.logger.warn({ saleId, err: error }, 'lease not acquired this time; trying again');
      return undefined;
    }
  }

  private isUs(other: LeaseHolder): boolean {
    const us = this.holder;
    return (
      other.engineId === us.engineId &&
      other.walId === us.walId &&
      other.host === us.host &&
      other.pid === us.pid
    );
  }

  private isOurDeadPredecessor(other: LeaseHolder): boolean {
    return (
      other.walId === this.holder.walId &&
      other.host === this.holder.host &&
      !isProcessAlive(other.pid)
    );
  }

  /** `fresh`: the lease was taken, not renewed; a new term, with an epoch of its own. */
  private hold(saleId: string, revision: number, sentAt: number, fresh = false): void {
    const epoch = fresh ? revision : (this.held.get(saleId)?.epoch ?? revision);
    this.held.set(saleId, {
      revision,
      validUntil: sentAt + this.ttlMs * LEASE_VALIDITY_SHARE,
      epoch,
    });
  }

  /**
   * Renews every held lease; `onLost` hears of one that another engine took. `resume` vets a
   * lease taken again after it expired during an outage (see vetRetaken).
   */
  startRenewing(
    onLost: (saleId: string) => void,
    resume: (saleId: string) => Promise<boolean>,
  ): void {
    const renewAll = async () => {
      for (const [saleId, held] of this.held) {
        const sentAt = performance.now();
        const lapsed = sentAt >= held.validUntil;
        try {
          const renewalTimeoutMs = this.ttlMs / RENEWALS_PER_TTL;
          this.hold(
            saleId,
            await this.kv.update(saleId, this.value, held.revision, renewalTimeoutMs),
            sentAt,
          );
          if (lapsed)
            this.logger.info({ saleId }, 'sale lease renewed after a lapse; serving again');
        } catch (error) {
          await this.renewalFailed(saleId, held, error, onLost, resume);
        }
      }
      if (this.renewTimer !== null)
        this.renewTimer = setTimeout(renewAll, this.ttlMs / RENEWALS_PER_TTL);
    };
    this.renewTimer = setTimeout(renewAll, this.ttlMs / RENEWALS_PER_TTL);
  }

  private async renewalFailed(
    saleId: string,
    held: Held,
    error: unknown,
    onLost: (saleId: string) => void,
    resume: (saleId: string) => Promise<boolean>,
  ) {
    const entry = await this.kv.get(saleId).catch(() => undefined);
    const ours = entry?.operation === 'PUT' && this.isUs(entry.json<LeaseHolder>());
    // A renewal that timed out may still have been applied: the key then holds our value under a
    // newer revision, which is the one to renew next.
    if (ours) held.revision = entry.revision;
    if (entry === undefined || ours) {
      // NATS is unreachable or slow: keep trying; our lease lapses locally before anyone can take it.
      this.logger.warn(
        { saleId, err: (error as Error).message },
        'cannot renew the sale lease yet',
      );
      return;
    }
    let holder: LeaseHolder | null = null;
    if (entry !== null && entry.operation === 'PUT') holder = entry.json<LeaseHolder>();
    else {
      // Expired while we were cut off, and nobody holds it: take it again (create refuses if
      // someone did in the meantime). We stopped serving when it lapsed locally, so nothing
      // overlapped.
      const other = await this.tryAcquire(saleId);
      if (other === undefined) return; // slipped away this time: the lapsed lease is retried
      if (other === null) {
        if (await this.vetRetaken(saleId, resume)) return;
        onLost(saleId);
        return;
      }
      holder = other;
    }
    this.held.delete(saleId);
    this.logger.error({ saleId, holder }, 'lost the sale lease; no longer serving this sale');
    onLost(saleId);
  }

  /**
   * A lease taken again after it expired is served only once `resume` says the sale still lives
   * here: whoever held it meanwhile may have adopted the sale onto another WAL (sale-homes.ts),
   * and then our state of it is stale. On a no, or no answer, the lease is freed: the engine
   * stops, and its next start decides with a clear head.
   */
  private async vetRetaken(saleId: string, resume: (saleId: string) => Promise<boolean>) {
    const lease = this.held.get(saleId)!;
    const { validUntil } = lease;
    lease.validUntil = 0;
    const stays = await resume(saleId).catch((error: unknown) => {
      this.logger.warn({ saleId, err: (error as Error).message }, 'cannot check the sale home');
      return false;
    });
    if (stays) {
      lease.validUntil = validUntil;
      this.logger.warn({ saleId }, 'sale lease expired during an outage; acquired it again');
      return true;
    }
    this.held.delete(saleId);
    await this.release(saleId, lease.revision);
    this.logger.error(
      { saleId },
      'took the expired sale lease again, but the sale may have been adopted onto another WAL ' +
        'meanwhile; no longer serving it',
    );
    return false;
  }

  /**
   * Stops renewing and frees our leases, so a standby takes over at once. The deletes run side by
   * side: with NATS down each waits out the JetStream timeout, and a stop must not take that once
   * per sale (the leases then simply lapse after their TTL).
   */
  async releaseAll(): Promise<void> {
    if (this.renewTimer !== null) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    const held = [...this.held];
    this.held.clear();
    await Promise.all(held.map(([saleId, lease]) => this.release(saleId, lease.revision)));
  }

  private async release(saleId: string, revision: number): Promise<void> {
    await this.kv.delete(saleId, { previousSeq: revision }).catch((error: unknown) => {
      this.logger.warn(
        { saleId, err: (error as Error).message },
        'could not release the sale lease',
      );
    });
  }
}
