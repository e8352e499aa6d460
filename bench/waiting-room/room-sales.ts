import { configureSale, readSale, type SaleSettings } from '../../scripts/client/sale-admin.js';

// The bench's sales, created through a gateway as an operator does (PUT /v1/admin/sales/:id), then
// read through every gateway that will use them (a read waits out the moment an engine takes a
// new sale up: 503 and Retry-After): a plain one for the orders baseline, and rooms whose lobby
// opens at once.

/** Admitted customers may buy for this long; none of the bench's do. */
const ADMISSION_TTL_S = 600;

export interface RoomSetting {
  /** When the draw happens: the sale's startsAt, ms. */
  readonly drawAt: number;
  readonly admitPerSecond: number;
}

async function createSale(
  urls: readonly string[],
  adminToken: string,
  saleId: string,
  settings: SaleSettings,
): Promise<void> {
  await configureSale(urls[0] as string, adminToken, saleId, settings);
  for (const url of urls) await readSale(url, saleId);
}

export function createPlainSale(
  urls: readonly string[],
  adminToken: string,
  saleId: string,
  stock: number,
): Promise<void> {
  return createSale(urls, adminToken, saleId, { name: saleId, stock, perCustomerLimit: 1 });
}

export function createRoomSale(
  urls: readonly string[],
  adminToken: string,
  saleId: string,
  room: RoomSetting,
): Promise<void> {
  const settings = {
    name: saleId,
    stock: 1,
    perCustomerLimit: 1,
    startsAt: new Date(room.drawAt).toISOString(),
    waitingRoom: {
      lobbyOpensAt: new Date(Date.now()).toISOString(),
      admitPerSecond: room.admitPerSecond,
      admissionTtlS: ADMISSION_TTL_S,
    },
  };
  return createSale(urls, adminToken, saleId, settings);
}
