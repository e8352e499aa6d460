import { drawOrder, sha256Hex } from '../../engine/protocol/index.js';
import { type AuditRow, RowBuilder } from './audit-rows.js';

// I9 as pure checks of what was read back from a sale with a waiting room (admission-reader.ts
// reads it over HTTP): the draw re-run from the published seed gives every lobby ticket; admitted
// in ticket order (nobody passed over while still queued); no order placed outside its customer's
// admission; never more than admitPerSecond admitted within any second (from admittedAt).

export const I9_DRAW_CHECK = 'lobby tickets are the published draw (I9)';
export const I9_ORDER_CHECK = 'admitted in ticket order (I9)';
export const I9_ORDERS_CHECK = 'orders only while admitted (I9)';
export const I9_RATE_CHECK = 'admissions within admitPerSecond per second (I9)';

const WINDOW_MS = 1_000;

/** One customer's place as read back (GET …/queue/me), times in ms. */
export interface PlaceReading {
  readonly customerId: string;
  readonly entryId: string;
  readonly ticket: number | null;
  readonly state: string;
  readonly admittedAt: number | null;
  readonly admittedUntil: number | null;
  /** When each of the customer's orders in the sale was placed. */
  readonly orderTimes: readonly number[];
}

export interface AdmissionReading {
  readonly saleId: string;
  readonly admitPerSecond: number;
  readonly draw: {
    readonly seedHash: string | null;
    readonly seed?: string;
    readonly lobby?: readonly string[];
  };
  readonly places: readonly PlaceReading[];
  /** Customers whose place could not be read: neither a breach nor a pass. */
  readonly unread: readonly string[];
}

function drawRow({ saleId, draw, places }: AdmissionReading): AuditRow {
  const row = new RowBuilder(I9_DRAW_CHECK);
  if (draw.seed === undefined || draw.lobby === undefined) {
    row.cannotRead(`${saleId}: the draw is not published (not done yet?)`);
    return row.row();
  }
  if (sha256Hex(draw.seed) !== draw.seedHash)
    row.breach(`${saleId}: the seed does not hash to the seed hash published at the lobby`);
  const ticketOf = new Map(drawOrder(draw.seed, draw.lobby).map((id, i) => [id, i + 1]));
  for (const place of places) {
    const drawn = ticketOf.get(place.entryId);
    if (drawn === undefined) continue;
    row.checked += 1;
    if (place.ticket !== drawn)
      row.breach(
        `${saleId}: ${place.customerId} holds ticket ${place.ticket}, the draw gives ${drawn}`,
      );
  }
  return row.row();
}

function orderRow({ saleId, places }: AdmissionReading): AuditRow {
  const row = new RowBuilder(I9_ORDER_CHECK);
  const inLine = places
    .filter((p): p is PlaceReading & { ticket: number } => p.ticket !== null)
    .sort((a, b) => a.ticket - b.ticket);
  let latest = Number.NEGATIVE_INFINITY;
  let waitingTicket: number | null = null;
  for (const place of inLine) {
    row.checked += 1;
    if (place.admittedAt === null) {
      if (place.state === 'WAITING' || place.state === 'CLOSED') waitingTicket ??= place.ticket;
      continue;
    }
    if (waitingTicket !== null)
      row.breach(`${saleId}: ticket ${place.ticket} admitted while ticket ${waitingTicket} waits`);
    if (place.admittedAt < latest)
      row.breach(`${saleId}: ticket ${place.ticket} admitted before a lower ticket`);
    latest = Math.max(latest, place.admittedAt);
  }
  return row.row();
}

function ordersRow({ saleId, places }: AdmissionReading): AuditRow {
  const row = new RowBuilder(I9_ORDERS_CHECK);
  for (const place of places)
    for (const at of place.orderTimes) {
      row.checked += 1;
      const { admittedAt, admittedUntil } = place;
      if (admittedAt === null || admittedUntil === null || at < admittedAt || at >= admittedUntil)
        row.breach(
          `${saleId}: ${place.customerId} ordered at ${new Date(at).toISOString()}, not admitted then`,
        );
    }
  return row.row();
}

function rateRow({ saleId, places, admitPerSecond }: AdmissionReading): AuditRow {
  const row = new RowBuilder(I9_RATE_CHECK);
  const times = places
    .map((p) => p.admittedAt)
    .filter((at): at is number => at !== null)
    .sort((a, b) => a - b);
  let first = 0;
  let worst = 0;
  for (let last = 0; last < times.length; last += 1) {
    row.checked += 1;
    // Every window of a second (both ends in) that ends at an admission.
    while ((times[first] as number) < (times[last] as number) - WINDOW_MS) first += 1;
    worst = Math.max(worst, last - first + 1);
  }
  if (worst > admitPerSecond)
    row.breach(`${saleId}: ${worst} admitted within one second; the setting is ${admitPerSecond}`);
  return row.row();
}

/** The four I9 rows of one sale; customers not read show as unread in each. */
export function auditAdmission(reading: AdmissionReading): AuditRow[] {
  return [drawRow, orderRow, ordersRow, rateRow].map((check) => {
    const row = check(reading);
    return { ...row, unread: [...row.unread, ...reading.unread] };
  });
}
