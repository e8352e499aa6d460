import { type JetStreamManager, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { rowOf } from '../audit/audit-rows.js';

// I8's fencing, read back from the sale's replicated log after its round: every owner opens its
// term with a fence record carrying its lease epoch, and no events record of an older epoch may
// follow a newer fence (a deposed owner's append, which readers would ignore, but which must not
// have been acknowledged either). The names are the engine's (engine/shell/sale-log.ts, which
// tools may not import): the stream, its subject per sale and the two headers.

const SALE_LOG_STREAM = 'SALE_LOG';
const saleLogSubject = (saleId: string) => `salelog.${saleId}`;
const EPOCH_HEADER = 'Sale-Epoch';
const KIND_HEADER = 'Sale-Log-Kind';
const FENCE_KIND = 'fence';
const CHECK = "no record of a deposed owner after a newer owner's fence (I8)";

export interface FenceCount {
  readonly records: number;
  readonly fences: number;
  /** Events records whose epoch is older than a fence before them. */
  readonly stale: number;
}

/** Reads the sale's whole log from the stream, in order. */
export async function countFences(
  nc: NatsConnection,
  jsm: JetStreamManager,
  saleId: string,
): Promise<FenceCount> {
  const subject = saleLogSubject(saleId);
  const last = await jsm.streams.getMessage(SALE_LOG_STREAM, { last_by_subj: subject });
  if (last === null) return { records: 0, fences: 0, stale: 0 };
  const consumer = await jetstream(nc).consumers.get(SALE_LOG_STREAM, { filter_subjects: subject });
  const messages = await consumer.consume();
  let epoch = 0;
  let count = { records: 0, fences: 0, stale: 0 };
  for await (const msg of messages) {
    const recordEpoch = Number(msg.headers?.get(EPOCH_HEADER));
    const fence = msg.headers?.get(KIND_HEADER) === FENCE_KIND;
    if (fence) epoch = Math.max(epoch, recordEpoch);
    count = {
      records: count.records + 1,
      fences: count.fences + (fence ? 1 : 0),
      stale: count.stale + (!fence && recordEpoch < epoch ? 1 : 0),
    };
    if (msg.seq >= last.seq) break;
  }
  return count;
}

/** The round's fencing row: one sale checked, a breach per stale record found. */
export async function fencingRow(nc: NatsConnection, jsm: JetStreamManager, saleId: string) {
  try {
    const { stale, fences } = await countFences(nc, jsm, saleId);
    const breaches =
      stale === 0 ? [] : [`I8: ${saleId}: ${stale} records of a deposed owner (${fences} fences)`];
    return { row: rowOf(CHECK, 1, breaches), fences };
  } catch (error) {
    const row = { check: CHECK, checked: 1, breaches: [], unread: [`${saleId}: ${error}`] };
    return { row, fences: 0 };
  }
}
