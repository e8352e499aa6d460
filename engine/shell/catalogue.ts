import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  type CatalogueEntry,
  decodeCatalogueEntry,
  SALE_CATALOGUE_BUCKET,
} from '../protocol/catalogue.js';
import { encodeMessage } from '../protocol/messages.js';

// The engine's side of the sale catalogue (protocol/catalogue.ts): it records the sales pinned to
// it, creates entries when the pool places a sale, and follows the entries placed on its WAL.

/** Earlier values kept per key: an entry is written once, so one is all there is. */
const CATALOGUE_HISTORY_ENTRIES = 1;

export class SaleCatalogue {
  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  static async open(nc: NatsConnection, logger: Logger, replicas = 1): Promise<SaleCatalogue> {
    const kv = await new Kvm(nc).create(SALE_CATALOGUE_BUCKET, {
      history: CATALOGUE_HISTORY_ENTRIES,
      replicas,
    });
    return new SaleCatalogue(kv, logger);
  }

  async get(saleId: string): Promise<CatalogueEntry | null> {
    const entry = await this.kv.get(saleId);
    if (entry === null || entry.operation !== 'PUT') return null;
    return decodeCatalogueEntry(entry.value);
  }

  /**
   * Creates the sale's entry; when it exists already (placed before, or a racing request placed
   * it first) answers that one instead, with `created` false.
   */
  async create(entry: CatalogueEntry): Promise<{ entry: CatalogueEntry; created: boolean }> {
    try {
      await this.kv.create(entry.saleId, encodeMessage(entry));
      return { entry, created: true };
    } catch (error) {
      const existing = await this.get(entry.saleId);
      if (existing === null) throw error;
      return { entry: existing, created: false };
    }
  }

  /** Records sales pinned to this engine (ENGINE_SALES) that the catalogue does not know yet. */
  async recordPinned(saleIds: readonly string[], us: Omit<CatalogueEntry, 'saleId'>) {
    for (const saleId of saleIds) {
      const { entry, created } = await this.create({ ...us, saleId });
      if (!created && entry.walId !== us.walId)
        this.logger.warn(
          { saleId, placedOn: entry.walId },
          'a sale pinned here is in the catalogue on another WAL; its home decides who serves it',
        );
    }
  }

  /** The sales placed on `walId` so far. */
  async placedOn(walId: string): Promise<string[]> {
    const sales: string[] = [];
    for await (const saleId of await this.kv.keys()) {
      const entry = await this.get(saleId);
      if (entry?.walId === walId) sales.push(saleId);
    }
    return sales;
  }

  /**
   * Calls `placed` for every sale placed on `walId`, those placed before first, then each new
   * one as it is placed, until the returned stop is called.
   */
  async follow(walId: string, placed: (saleId: string) => void): Promise<() => void> {
    return this.followAll((entry) => {
      if (entry.walId === walId) placed(entry.saleId);
    });
  }

  /** Calls `each` for every sale in the catalogue, then for each new one, until stopped. */
  async followAll(each: (entry: CatalogueEntry) => void): Promise<() => void> {
    const watcher = await this.kv.watch({ ignoreDeletes: true });
    void (async () => {
      for await (const change of watcher) {
        const entry = change.operation === 'PUT' ? decodeCatalogueEntry(change.value) : null;
        if (entry !== null) each(entry);
      }
    })().catch((error: unknown) =>
      this.logger.error({ err: error }, 'stopped following the sale catalogue'),
    );
    return () => watcher.stop();
  }
}
