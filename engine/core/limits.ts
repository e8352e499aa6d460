// Every bound the decision core enforces, with its unit last in the name (TigerBeetle style).
// The protocol validates shapes against the same numbers, so a message that passes it can't be
// refused here for size.

export const SALE_ID_CHARS_MAX = 64;
/** A saleId becomes part of NATS subjects: no `.`, `*`, `>` or whitespace (DESIGN.md). */
export const SALE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const SALE_NAME_CHARS_MAX = 200;
export const SALE_STOCK_UNITS_MAX = 1_000_000_000;
export const PER_CUSTOMER_LIMIT_UNITS_MAX = 1_000_000;
export const ORDER_QUANTITY_UNITS_MAX = PER_CUSTOMER_LIMIT_UNITS_MAX;
export const CUSTOMER_ID_CHARS_MAX = 128;
export const IDEMPOTENCY_KEY_CHARS_MAX = 128;
export const REQUEST_HASH_CHARS_MAX = 128;
export const TRACKING_ID_CHARS_MAX = 128;
export const SHIPPING_MESSAGE_CHARS_MAX = 500;
/**
 * An order's history grows by one entry per status change. Dead-letter replays can bounce an order
 * between SHIPPING_DELAYED and SHIPPING_FAILED; past this bound only SHIPPING_REQUESTED (terminal)
 * is still recorded, so the history can't grow without end.
 */
export const ORDER_HISTORY_ENTRIES_MAX = 64;
/** Latest representable instant (ms since the epoch) — year 9999 — so times stay valid ISO dates. */
export const TIMESTAMP_MS_MAX = 253_402_300_799_999;
