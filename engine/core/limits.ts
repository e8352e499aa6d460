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

// The waiting room (queue-*.ts).
export const ADMIT_PER_SECOND_MAX = 100_000;
export const ADMISSION_TTL_S_MAX = 86_400;
/** Entries one sale's queue holds at most (each is one customer); past it a join is refused. */
export const QUEUE_ENTRIES_MAX = 1_000_000;
/** A proof of work's id (the ALTCHA challenge's nonce, hex). */
export const SOLUTION_ID_CHARS_MAX = 128;
/** A draw seed: 32 random bytes as lowercase hex. */
export const SEED_PATTERN = /^[0-9a-f]{64}$/;
/**
 * Admission credit is capped at this much of admitPerSecond (at least one admission): after a
 * pause (an engine down, a failover) the queue resumes at its rate, never with a catch-up burst.
 */
export const ADMISSION_BURST_MS = 250;
/** The sliding window the rate limit holds: never more than admitPerSecond admitted within it. */
export const ADMISSION_WINDOW_MS = 1_000;
/** The admissions kept to measure the real rate (the ETA's): the last this many ms. */
export const QUEUE_RATE_WINDOW_MS = 10_000;
/** QueueAdvanced records kept for the window at most (ticks are ≥ 1 ms apart in practice). */
export const RECENT_ADVANCES_MAX = 10_000;
