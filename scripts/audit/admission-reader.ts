import { mapLimited } from '../client/load-runner.js';
import type { AdmissionReading, PlaceReading } from './admission.js';
import { describe, type HttpAuditTarget, read } from './http-reader.js';

// What the I9 audit reads back over HTTP, as clients read it: the sale's setting, the published
// draw, and each customer's place (GET …/queue/me) and orders (GET …/me) with their own tokens.

const READ_CONCURRENCY = 32;

const ms = (iso: string | undefined): number | null => (iso === undefined ? null : Date.parse(iso));

async function readPlace(
  target: HttpAuditTarget,
  customerId: string,
  nth: number,
): Promise<PlaceReading | string> {
  const sale = `/v1/sales/${encodeURIComponent(target.saleId)}`;
  const token = target.tokenOf(customerId);
  const place = await read(target.gatewayUrls, nth, `${sale}/queue/me`, token);
  if (place instanceof Error || place.status !== 200)
    return `${customerId}: queue place unread (${describe(place)})`;
  const mine = await read(target.gatewayUrls, nth, `${sale}/me`, token);
  if (mine instanceof Error || mine.status !== 200)
    return `${customerId}: orders unread (${describe(mine)})`;
  const body = place.body as {
    entryId: string;
    ticket: number | null;
    state: string;
    admittedAt?: string;
    admittedUntil?: string;
  };
  const orders = (mine.body as { orders: { createdAt: string }[] }).orders;
  return {
    customerId,
    entryId: body.entryId,
    ticket: body.ticket,
    state: body.state,
    admittedAt: ms(body.admittedAt),
    admittedUntil: ms(body.admittedUntil),
    orderTimes: orders.map((order) => Date.parse(order.createdAt)),
  };
}

/** The sale's waiting room as its customers (those who joined) and anyone can read it. */
export async function readAdmissionOverHttp(
  target: HttpAuditTarget,
  joined: readonly string[],
): Promise<AdmissionReading> {
  const path = `/v1/sales/${encodeURIComponent(target.saleId)}`;
  const sale = await read(target.gatewayUrls, 0, path);
  const draw = await read(target.gatewayUrls, 1, `${path}/draw`);
  if (sale instanceof Error || sale.status !== 200 || draw instanceof Error || draw.status !== 200)
    throw new Error(`the sale or its draw could not be read: ${describe(sale)}, ${describe(draw)}`);
  const room = (sale.body as { waitingRoom?: { admitPerSecond: number } }).waitingRoom;
  if (room === undefined) throw new Error(`sale ${target.saleId} has no waiting room`);
  let nth = 0;
  const results = await mapLimited(joined, READ_CONCURRENCY, (c) => readPlace(target, c, nth++));
  return {
    saleId: target.saleId,
    admitPerSecond: room.admitPerSecond,
    draw: draw.body as AdmissionReading['draw'],
    places: results.filter((p): p is PlaceReading => typeof p !== 'string'),
    unread: results.filter((p): p is string => typeof p === 'string'),
  };
}
