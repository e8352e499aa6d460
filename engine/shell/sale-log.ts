import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Logger } from 'pino';

// Each sale's replicated log (I8): a JetStream stream with one subject per sale, replicated to a
// quorum of NATS nodes, holding one message per group commit of that sale. In a cluster it is the
// sale's record: an order is acknowledged only once its batch is here (and fsynced in the local
// WAL, which is a cache of this). Every owner of a sale opens its term with a *fence* record
// carrying its lease epoch (the lease's revision when taken, which only grows), appended with the
// last sequence it read as the expected one; from then on readers ignore records of an older
// epoch. That covers the case the expected sequence alone misses (nats-server issue #4320: two
// appends with the same expected sequence both accepted on 2.9.15-2.9.20).

export const SALE_LOG_STREAM = 'SALE_LOG';
export const saleLogSubject = (saleId: string): string => `salelog.${saleId}`;
/** Below NATS's default max_payload (1 MiB), with room for the headers. */
export const SALE_LOG_RECORD_BYTES_MAX = 960 * 1024;
/** How long an append is retried (a stream leader election takes 4-9 s) before it fails. */
export const SALE_LOG_APPEND_TIMEOUT_MS = 15_000;
const SALE_LOG_PUBLISH_TIMEOUT_MS = 2_000;
const SALE_LOG_RETRY_MS_MIN = 50;
const SALE_LOG_RETRY_MS_MAX = 1_000;
/** Bytes of the length before each event in a record. */
const FRAME_HEADER_BYTES = 4;

export const EPOCH_HEADER = 'Sale-Epoch';
export const KIND_HEADER = 'Sale-Log-Kind';
export type SaleLogKind = 'events' | 'fence';

/** The log moved on past what this writer read: another owner appended. Nothing is answered. */
export class SaleLogFencedError extends Error {
  override readonly name = 'SaleLogFencedError';
}

export async function ensureSaleLogStream(
  jsm: JetStreamManager,
  replicas: number,
  logger: Logger,
): Promise<void> {
  const config = {
    name: SALE_LOG_STREAM,
    subjects: [saleLogSubject('*')],
    num_replicas: replicas,
    max_msg_size: SALE_LOG_RECORD_BYTES_MAX + 64 * 1024,
  };
  try {
    await jsm.streams.info(SALE_LOG_STREAM);
  } catch {
    await jsm.streams.add(config);
    logger.info({ replicas }, `created stream ${SALE_LOG_STREAM}`);
  }
}

/** The sequence of the sale's last record, 0 when it has none. */
export async function lastSaleLogSequence(jsm: JetStreamManager, saleId: string): Promise<number> {
  const last = await jsm.streams.getMessage(SALE_LOG_STREAM, {
    last_by_subj: saleLogSubject(saleId),
  });
  return last?.seq ?? 0;
}

/**
 * The JetStream timeout of a takeover's reads of the log's end: while SALE_LOG has no leader
 * (an election takes 4-9 s) such a read gets no answer at all, so each try is short.
 */
export const SALE_LOG_READ_TIMEOUT_MS = 1_000;

/**
 * `lastSaleLogSequence` through a manager whose timeout is SALE_LOG_READ_TIMEOUT_MS, tried again
 * while `stillOurs`: a takeover begun during an election then fences within one short try of
 * the election's end, where a read with the default JetStream timeout (5 s) could fail up to 5 s
 * after it and the takeover start over (lease freed, taken again).
 */
export async function lastSaleLogSequenceWhile(
  quickJsm: JetStreamManager,
  saleId: string,
  stillOurs: () => boolean,
): Promise<number> {
  for (;;) {
    try {
      return await lastSaleLogSequence(quickJsm, saleId);
    } catch (error) {
      if (!stillOurs()) throw error;
      await new Promise((resolve) => setTimeout(resolve, SALE_LOG_RETRY_MS_MIN));
    }
  }
}

/** Events end to end, each after its length: one record holds a batch's events for one sale. */
export function encodeRecord(events: readonly Uint8Array[]): Uint8Array {
  const size = events.reduce((sum, event) => sum + FRAME_HEADER_BYTES + event.length, 0);
  const record = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const event of events) {
    record.writeUInt32BE(event.length, offset);
    record.set(event, offset + FRAME_HEADER_BYTES);
    offset += FRAME_HEADER_BYTES + event.length;
  }
  return record;
}

export function decodeRecord(record: Uint8Array): Uint8Array[] {
  const bytes = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const events: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    if (offset + FRAME_HEADER_BYTES > bytes.length) throw new Error('sale log record cut short');
    const length = bytes.readUInt32BE(offset);
    const end = offset + FRAME_HEADER_BYTES + length;
    if (end > bytes.length) throw new Error('sale log record cut short');
    events.push(bytes.subarray(offset + FRAME_HEADER_BYTES, end));
    offset = end;
  }
  return events;
}

/** Splits a batch's events into records under SALE_LOG_RECORD_BYTES_MAX each. */
export function recordsOf(events: readonly Uint8Array[]): Uint8Array[] {
  const records: Uint8Array[] = [];
  let current: Uint8Array[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = FRAME_HEADER_BYTES + event.length;
    if (size > SALE_LOG_RECORD_BYTES_MAX)
      throw new RangeError(`an event of ${event.length} bytes does not fit a sale log record`);
    if (bytes + size > SALE_LOG_RECORD_BYTES_MAX) {
      records.push(encodeRecord(current));
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) records.push(encodeRecord(current));
  return records;
}

const isWrongLastSequence = (error: unknown): boolean =>
  error instanceof JetStreamApiError && error.code === 10071;

/**
 * Appends one record with the sequence it expects before it. Retried with the same message id
 * (JetStream drops the duplicate of one stored whose answer was lost) until it is stored, the
 * log refuses it (fenced), `stillOurs` says the lease lapsed, or the time runs out.
 */
export async function appendRecord(
  js: JetStreamClient,
  target: { saleId: string; epoch: number; expectedSequence: number; kind: SaleLogKind },
  data: Uint8Array,
  stillOurs: () => boolean,
): Promise<number> {
  const { saleId, epoch, expectedSequence, kind } = target;
  const headers = natsHeaders();
  headers.set(EPOCH_HEADER, String(epoch));
  headers.set(KIND_HEADER, kind);
  const deadline = Date.now() + SALE_LOG_APPEND_TIMEOUT_MS;
  for (let waitMs = SALE_LOG_RETRY_MS_MIN; ; waitMs = Math.min(waitMs * 2, SALE_LOG_RETRY_MS_MAX)) {
    if (!stillOurs()) throw new SaleLogFencedError(`the lease of sale ${saleId} lapsed`);
    try {
      const ack = await js.publish(saleLogSubject(saleId), data, {
        headers,
        msgID: `${saleId}:${epoch}:${expectedSequence}`,
        expect: { lastSubjectSequence: expectedSequence },
        timeout: SALE_LOG_PUBLISH_TIMEOUT_MS,
      });
      return ack.seq;
    } catch (error) {
      if (isWrongLastSequence(error))
        throw new SaleLogFencedError(
          `sale ${saleId}'s log moved past sequence ${expectedSequence}: another owner appended`,
          { cause: error },
        );
      if (Date.now() + waitMs > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
