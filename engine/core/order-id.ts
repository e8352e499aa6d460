import { SALE_ID_PATTERN } from './limits.js';

// An orderId names its sale so that any gateway can route a lookup without asking around
// (DESIGN.md). `~` can't appear in a saleId and is URL-safe, so the split is unambiguous.
// The sequence comes from the sale's state, so replaying the log yields the same ids.
export const ORDER_ID_SEPARATOR = '~';
const ORDER_ID_PATTERN = /^([A-Za-z0-9_-]{1,64})~([1-9][0-9]{0,15})$/;

export function formatOrderId(saleId: string, sequence: number): string {
  if (!SALE_ID_PATTERN.test(saleId)) throw new Error(`invalid saleId for an orderId: ${saleId}`);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`bad sequence ${sequence}`);
  return `${saleId}${ORDER_ID_SEPARATOR}${sequence}`;
}

/** The sale an orderId belongs to, or null when the text is not an orderId at all. */
export function saleIdOfOrderId(orderId: string): string | null {
  const match = ORDER_ID_PATTERN.exec(orderId);
  return match?.[1] ?? null;
}
