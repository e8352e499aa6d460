import { hostname } from 'node:os';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { SALE_HOMES_BUCKET } from '../protocol/subjects.js';

// Which WAL a sale lives in. A sale's orders are in the WAL of the engine that served it; an
// engine on another WAL (a standby given the wrong directory, a disk lost and replaced by an
// empty one) would start the sale from nothing and sell its stock again. So the first engine
// given a sale (ENGINE_SALES, created yet or not) records its WAL's id (identity.json) as the
// sale's home, in a KV bucket that never expires, and every engine checks it: one whose WAL is
// not the home refuses to start, unless the operator names the sale in ENGINE_SALES_ADOPT. The
// home is written only under the sale's lease. `<saleId>@<walId>` adopts the sale only from that
// WAL, so the setting is spent once it has moved the sale: left in place, or copied to another
// engine, it can't move the sale again (a bare `<saleId>` would, each time that engine takes the
// lease, starting the sale over from its own WAL's state each time).

/** Earlier homes kept per sale, so an operator can see where a sale was adopted from. */
const HOME_HISTORY_ENTRIES = 5;
/**
 * Order sequences each home of a sale may use: home n (0 for the first, +1 at each adoption)
 * numbers its orders from n × this + 1. A new home can't know how far the last one got (its WAL
 * is elsewhere, or lost), so each gets a range of its own and no orderId is ever given twice:
 * JetStream would drop the new order as a duplicate of the old one, and the carrier hand back the
 * old shipment. 10^12 orders per home.
 */
export const ORDER_SEQUENCES_PER_HOME = 1_000_000_000_000;
/** The last generation whose whole range stays within safe integers (9,006 adoptions). */
const HOME_GENERATION_MAX = Math.floor(Number.MAX_SAFE_INTEGER / ORDER_SEQUENCES_PER_HOME) - 1;

interface SaleHome {
  readonly walId: string;
  readonly walDir: string;
  readonly engineId: string;
  readonly host: string;
  /** When this WAL became the sale's home (ISO 8601). */
  readonly since: string;
  /** How many times the sale was adopted before (absent: 0, the first home). */
  readonly generation?: number;
}

/** A sale lives in another WAL, and this engine may not adopt it: a configuration error. */
export class SaleHomeConflictError extends Error {
  override readonly name = 'SaleHomeConflictError';
}

const encoder = new TextEncoder();

export class SaleHomes {
  /** The generation of each sale claimed here (SaleHome.generation). */
  private readonly generations = new Map<string, number>();

  private constructor(
    private readonly kv: KV,
    private readonly us: Omit<SaleHome, 'since' | 'host'>,
    private readonly adopt: ReadonlyMap<string, string | null>,
    private readonly logger: Logger,
  ) {}

  static async open(
    nc: NatsConnection,
    us: Omit<SaleHome, 'since' | 'host'>,
    adopt: ReadonlyMap<string, string | null>,
    logger: Logger,
    replicas = 1,
  ): Promise<SaleHomes> {
    const kv = await new Kvm(nc).create(SALE_HOMES_BUCKET, {
      history: HOME_HISTORY_ENTRIES,
      replicas,
    });
    return new SaleHomes(kv, us, adopt, logger);
  }

  /**
   * Refuses, all named at once, the sales that live in another WAL and are not to be adopted, or
   * (once the WAL is recovered, `heldHere` known) would be adopted back onto an old state.
   */
  async check(saleIds: readonly string[], heldHere?: (saleId: string) => boolean): Promise<void> {
    const conflicts: string[] = [];
    for (const saleId of saleIds) {
      const home = (await this.read(saleId))?.home;
      if (home === undefined || home.walId === this.us.walId) continue;
      if (!this.mayAdopt(saleId, home)) conflicts.push(this.conflict(saleId, home));
      else if (heldHere?.(saleId)) conflicts.push(this.adoptBack(saleId, home));
    }
    if (conflicts.length > 0) throw new SaleHomeConflictError(conflicts.join('; '));
  }

  /**
   * With the sale's lease held: makes this WAL the sale's home if it has none, keeps it if it is
   * ours, takes it over if the sale is to be adopted, and refuses otherwise. `heldHere`: this
   * WAL's state already has the sale, which an adoption refuses (below).
   */
  async claim(saleId: string, heldHere: boolean): Promise<void> {
    const current = await this.read(saleId);
    if (current === null) {
      await this.kv.create(saleId, this.value(saleId, 0));
      this.logger.info({ saleId, walId: this.us.walId }, 'this WAL is now the home of the sale');
      return;
    }
    const { home, revision } = current;
    const generation = home.generation ?? 0;
    if (home.walId === this.us.walId) {
      this.generations.set(saleId, generation);
      return;
    }
    if (!this.mayAdopt(saleId, home)) throw new SaleHomeConflictError(this.conflict(saleId, home));
    // Its orders here would go on from where this WAL left them, into sequences the homes since
    // may have used: orderIds given twice.
    if (heldHere) throw new SaleHomeConflictError(this.adoptBack(saleId, home));
    if (generation >= HOME_GENERATION_MAX)
      throw new SaleHomeConflictError(`sale ${saleId} was adopted too often to be adopted again`);
    await this.kv.update(saleId, this.value(saleId, generation + 1), revision);
    this.logger.warn(
      { saleId, previous: home, walId: this.us.walId, generation: generation + 1 },
      `adopted sale ${saleId} (ENGINE_SALES_ADOPT): it starts afresh in this WAL, numbering its ` +
        `orders from ${this.firstOrderSequence(saleId)}; its orders in WAL ${home.walId} are not ` +
        'carried over',
    );
  }

  /** Where the order sequences of a sale claimed here start, should it be created here. */
  firstOrderSequence(saleId: string): number {
    return (this.generations.get(saleId) ?? 0) * ORDER_SEQUENCES_PER_HOME + 1;
  }

  /**
   * With the sale's lease taken again after an outage: false if another WAL became the sale's
   * home meanwhile (it was adopted away); true if the home is still this WAL (one process per
   * WAL), written again if its key was purged.
   */
  async resume(saleId: string): Promise<boolean> {
    const current = await this.read(saleId);
    if (current === null)
      await this.kv.create(saleId, this.value(saleId, this.generations.get(saleId) ?? 0));
    return current === null || current.home.walId === this.us.walId;
  }

  private mayAdopt(saleId: string, home: SaleHome): boolean {
    const from = this.adopt.get(saleId);
    return from === null || from === home.walId;
  }

  private async read(saleId: string): Promise<{ home: SaleHome; revision: number } | null> {
    const entry = await this.kv.get(saleId);
    if (entry === null || entry.operation !== 'PUT') return null;
    return { home: entry.json<SaleHome>(), revision: entry.revision };
  }

  private value(saleId: string, generation: number): Uint8Array {
    this.generations.set(saleId, generation);
    const home: SaleHome = {
      ...this.us,
      host: hostname(),
      since: new Date().toISOString(),
      ...(generation === 0 ? {} : { generation }),
    };
    return encoder.encode(JSON.stringify(home));
  }

  private conflict(saleId: string, home: SaleHome): string {
    const from = this.adopt.get(saleId);
    return (
      `sale ${saleId} lives in WAL ${home.walId} (${home.walDir} of engine ${home.engineId} on ` +
      `${home.host}, since ${home.since}), but this engine's WAL_DIR ${this.us.walDir} holds WAL ` +
      `${this.us.walId}` +
      (from === undefined ? '' : ` and ENGINE_SALES_ADOPT takes it from WAL ${from} only`) +
      ': start it on that directory (restored from a backup if it was lost), or, to start the ' +
      'sale afresh in a WAL that never held it and leave its orders there behind, set ' +
      `ENGINE_SALES_ADOPT=${saleId}@${home.walId}`
    );
  }

  private adoptBack(saleId: string, home: SaleHome): string {
    return (
      `sale ${saleId} lived in this WAL (${this.us.walDir}) before it moved to WAL ` +
      `${home.walId}, and this WAL still holds its state of then: it can't be adopted back here. ` +
      `Start this engine on WAL ${home.walId}'s directory, or adopt the sale on a new WAL_DIR`
    );
  }
}
