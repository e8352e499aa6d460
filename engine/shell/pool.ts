import { hostname } from 'node:os';
import { type KV, Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { rejection } from '../core/errors.js';
import {
  type CatalogueEntry,
  decodePlaceSaleRequest,
  decodePoolMember,
  ENGINE_POOL_BUCKET,
  type PlaceSaleReply,
  POOL_PLACE_SUBJECT,
  POOL_QUEUE_GROUP,
  type PoolMember,
} from '../protocol/catalogue.js';
import { encodeMessage, errorReply } from '../protocol/messages.js';
import type { SaleCatalogue } from './catalogue.js';
import { choosePlacement } from './placement.js';

// The engine pool: every engine says it is there (a key in `engine_pool` that expires unless it
// renews it) and how many sales it serves, and answers `pool.place` requests as one queue group —
// whichever engine takes a request chooses the engine for the sale (placement.ts) and records it
// in the catalogue, where the chosen one sees it and starts serving the sale.

/** A member that stops renewing (a crash) leaves the pool this long after its last renewal. */
export const POOL_MEMBER_TTL_MS = 10_000;
const POOL_RENEWALS_PER_TTL = 3;
/** How long a stopping engine waits to be struck off the pool before its key is left to expire. */
const POOL_LEAVE_WAIT_MS_MAX = 500;
/** Members read per placement at most: a pool is a handful of engines, not thousands. */
const POOL_MEMBERS_MAX = 1_024;

export interface PoolIdentity {
  readonly walId: string;
  readonly engineId: string;
}

export class EnginePool {
  private renewTimer: NodeJS.Timeout | null = null;
  private joined = false;
  private subscription: Subscription | null = null;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly us: PoolIdentity,
    private readonly salesMax: number,
    private readonly catalogue: SaleCatalogue,
    private readonly logger: Logger,
  ) {}

  static async open(
    nc: NatsConnection,
    parts: {
      us: PoolIdentity;
      salesMax: number;
      catalogue: SaleCatalogue;
      logger: Logger;
      replicas: number;
    },
  ): Promise<EnginePool> {
    const kv = await new Kvm(nc).create(ENGINE_POOL_BUCKET, {
      ttl: POOL_MEMBER_TTL_MS,
      history: 1,
      replicas: parts.replicas,
    });
    return new EnginePool(nc, kv, parts.us, parts.salesMax, parts.catalogue, parts.logger);
  }

  /** Joins the pool (renewing its membership with `served()` sales) and answers placements. */
  async join(served: () => number): Promise<void> {
    const renew = async () => {
      const sales = served();
      const member: PoolMember = {
        ...this.us,
        host: hostname(),
        pid: process.pid,
        sales,
        room: Math.max(0, this.salesMax - sales),
      };
      await this.kv.put(this.us.walId, encodeMessage(member)).catch((error: unknown) => {
        this.logger.warn({ err: (error as Error).message }, 'could not renew pool membership');
      });
      if (this.joined)
        this.renewTimer = setTimeout(renew, POOL_MEMBER_TTL_MS / POOL_RENEWALS_PER_TTL);
    };
    this.joined = true;
    await renew();
    this.subscription = this.nc.subscribe(POOL_PLACE_SUBJECT, {
      queue: POOL_QUEUE_GROUP,
      callback: (_error, msg) => void this.onPlace(msg),
    });
  }

  /**
   * Leaves the pool at once (no new sale comes here), rather than when the key expires — but
   * never waits long for it: with NATS down the key expires on its own, and the engine's stop
   * has its WAL and leases to see to.
   */
  async leave(): Promise<void> {
    this.joined = false;
    if (this.renewTimer !== null) clearTimeout(this.renewTimer);
    const leaving = Promise.all([
      this.subscription?.drain().catch(() => undefined),
      this.kv.delete(this.us.walId).catch(() => undefined),
    ]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      leaving,
      new Promise((resolve) => {
        timer = setTimeout(resolve, POOL_LEAVE_WAIT_MS_MAX);
      }),
    ]);
    clearTimeout(timer);
  }

  async members(): Promise<PoolMember[]> {
    const members: PoolMember[] = [];
    for await (const walId of await this.kv.keys()) {
      if (members.length >= POOL_MEMBERS_MAX) break;
      const entry = await this.kv.get(walId);
      const member = entry?.operation === 'PUT' ? decodePoolMember(entry.value) : null;
      if (member !== null) members.push(member);
    }
    return members;
  }

  private async onPlace(msg: Msg): Promise<void> {
    const reply = await this.place(msg.data).catch(
      (error: unknown): PlaceSaleReply =>
        errorReply(
          rejection('ENGINE_UNAVAILABLE', `placement failed: ${(error as Error).message}`),
        ),
    );
    if (msg.reply) msg.respond(encodeMessage(reply));
  }

  private async place(data: Uint8Array): Promise<PlaceSaleReply> {
    const request = decodePlaceSaleRequest(data);
    if (request === null)
      return errorReply(rejection('INVALID_REQUEST', 'not a PlaceSale request'));
    const existing = await this.catalogue.get(request.saleId);
    if (existing !== null) return { ok: true, kind: 'placement', entry: existing, created: false };
    const chosen = choosePlacement(await this.members(), request.walId);
    if (!chosen.ok) return errorReply(rejection('ENGINE_UNAVAILABLE', chosen.why));
    const entry: CatalogueEntry = {
      saleId: request.saleId,
      walId: chosen.member.walId,
      engineId: chosen.member.engineId,
      pinned: request.walId !== undefined,
      at: Date.now(),
    };
    const placed = await this.catalogue.create(entry);
    if (placed.created)
      this.logger.info({ saleId: entry.saleId, walId: entry.walId }, 'placed a new sale');
    return { ok: true, kind: 'placement', ...placed };
  }
}
