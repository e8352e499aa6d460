import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

// Which deliveries of each message of ORDERS an agent handed back because it was stopping (a
// rolling deploy, a scale-down), in a KV bucket. JetStream counts every delivery, these too; but a
// stop says nothing about the carrier. Were they counted, each deploy would bring the orders in
// hand nearer their dead letter, and one landing on an order's last delivery would dead-letter it
// without a carrier call. The agent takes them off JetStream's count (delivery-budget.ts). A
// delivery that dies with its agent (SIGKILL, OOM) leaves no record and keeps counting, so a
// message that brings agents down still ends in the dead letters.

export const STOP_RELEASES_BUCKET = 'shipping_stop_releases';
/**
 * A record outlives its message's stay in the consumer by far. Once expired, the deliveries it
 * named count again: the order may be dead-lettered sooner, never lost.
 */
export const STOP_RELEASES_MAX_AGE_MS = 30 * 24 * 3_600_000;
/** Records are tens of bytes, one per message handed back: this is far beyond any backlog. */
export const STOP_RELEASES_BYTES_MAX = 64 * 1024 * 1024;
/** Tries to add a release when another write to the same record came in between. */
const RECORD_TRIES = 3;

/**
 * One message's record: its order (a recreated ORDERS reuses sequence numbers) and one id per
 * hand-back, so that a write repeated after a lost answer counts once.
 */
interface StopReleaseRecord {
  readonly orderId: string;
  readonly releases: readonly string[];
}

export class StopReleases {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, replicas = 1): Promise<StopReleases> {
    const kv = await new Kvm(nc).create(STOP_RELEASES_BUCKET, {
      ttl: STOP_RELEASES_MAX_AGE_MS,
      history: 1,
      max_bytes: STOP_RELEASES_BYTES_MAX,
      replicas,
    });
    return new StopReleases(kv);
  }

  /** How many times a stopping agent handed message `seq` (of order `orderId`) back. */
  async handedBack(seq: number, orderId: string): Promise<number> {
    return releasesOf(await this.kv.get(keyOf(seq)), orderId).length;
  }

  /**
   * Records hand-back `releaseId` of message `seq`. Safe to repeat; a write that another one (an
   * agent whose ack wait lapsed) overtook is tried again on the newer record.
   */
  async record(seq: number, orderId: string, releaseId: string): Promise<void> {
    const key = keyOf(seq);
    for (let tries = 1; ; tries += 1) {
      const entry = await this.kv.get(key);
      const known = releasesOf(entry, orderId);
      if (known.includes(releaseId)) return;
      const record: StopReleaseRecord = { orderId, releases: [...known, releaseId] };
      const value = JSON.stringify(record);
      try {
        if (entry === null) await this.kv.create(key, value);
        else await this.kv.update(key, value, entry.revision);
        return;
      } catch (error) {
        if (tries >= RECORD_TRIES) throw error;
      }
    }
  }
}

function keyOf(seq: number): string {
  return String(seq);
}

/** The hand-backs a record names, if it is this order's; none for another's, a deleted or bad one. */
function releasesOf(entry: KvEntry | null, orderId: string): readonly string[] {
  if (entry === null || entry.operation !== 'PUT') return [];
  try {
    const record = entry.json<Partial<StopReleaseRecord>>();
    if (record.orderId !== orderId || !Array.isArray(record.releases)) return [];
    return record.releases.filter((release) => typeof release === 'string');
  } catch {
    return [];
  }
}
