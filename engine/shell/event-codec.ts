import type { Event } from '../core/types.js';

// Events as WAL record payloads: UTF-8 JSON, one event per record. The WAL's CRC guards the
// bytes; this guards the meaning, so a record from a future format stops recovery loudly.

const EVENT_TYPES: ReadonlySet<string> = new Set<Event['type']>([
  'SaleConfigured',
  'OrderPlaced',
  'ShippingStatusRecorded',
  'LobbyOpened',
  'QueueJoined',
  'LobbyDrawn',
  'QueueAdvanced',
  'QueueLeft',
  'QueueClosed',
]);

export const encodeEvent = (event: Event): Buffer => Buffer.from(JSON.stringify(event));

export function decodeEvent(payload: Uint8Array, lsn: number): Event {
  const value: unknown = JSON.parse(
    Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString(),
  );
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type))
    throw new Error(`WAL record ${lsn} is not a known event (type ${JSON.stringify(type)})`);
  return value as Event;
}
