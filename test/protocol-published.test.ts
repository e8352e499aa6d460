import fc from 'fast-check';
import t from 'tap';
import {
  type ConfirmedOrderMessage,
  decodeConfirmedOrder,
  decodeOrderStatusMessage,
  decodeStockMessage,
  encodeMessage,
  type OrderStatusMessage,
  type StockMessage,
} from '../engine/protocol/index.js';

// What the engine publishes is read through one schema per message (engine/protocol/published.ts)
// by every reader: whatever the engine can publish decodes to itself, and anything else is null
// (the reader drops it) — never an exception, never a half-checked value.

const saleId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const orderId = fc
  .tuple(saleId, fc.integer({ min: 1, max: 2 ** 53 - 1 }))
  .map(([sale, n]) => `${sale}~${n}`)
  .filter((id) => /^[A-Za-z0-9_-]{1,64}~[1-9][0-9]{0,15}$/.test(id));
/** Characters of one UTF-16 unit each (the limits count units), escapes and non-ASCII among them. */
const char = fc.constantFrom('a', 'Z', '9', 'é', '中', '"', '\\', '\u0000', ' ');
const text = (max: number) => fc.string({ minLength: 1, maxLength: max, unit: char });
const at = fc.integer({ min: 0, max: 253_402_300_799_999 });

const stock: fc.Arbitrary<StockMessage> = fc
  .tuple(saleId, fc.integer({ min: 0, max: 1_000_000_000 }))
  .chain(([id, total]) =>
    fc.integer({ min: 0, max: total }).map((remaining) => ({
      type: 'stock' as const,
      saleId: id,
      stock: total,
      remaining,
    })),
  );
const statuses: fc.Arbitrary<OrderStatusMessage> = fc.record({
  type: fc.constant('orderStatus' as const),
  saleId,
  changes: fc.array(
    fc.record({
      orderId,
      customerId: text(128),
      status: fc.constantFrom(
        'CONFIRMED',
        'SHIPPING_DELAYED',
        'SHIPPING_REQUESTED',
        'SHIPPING_FAILED',
      ) as fc.Arbitrary<OrderStatusMessage['changes'][number]['status']>,
      trackingId: fc.option(text(128), { nil: null }),
      message: fc.option(text(500), { nil: null }),
      at,
    }),
    { minLength: 1, maxLength: 5 },
  ),
});
const confirmed: fc.Arbitrary<ConfirmedOrderMessage> = fc.record({
  orderId,
  saleId,
  customerId: text(128),
  quantity: fc.integer({ min: 1, max: 1_000_000 }),
  createdAt: at,
});

t.test('every message the engine can publish decodes to itself', async (t) => {
  const roundTrip = <T>(arbitrary: fc.Arbitrary<T>, decode: (bytes: Uint8Array) => T | null) =>
    fc.assert(fc.property(arbitrary, (message) => t.same(decode(encodeMessage(message)), message)));
  roundTrip(stock, decodeStockMessage);
  roundTrip(statuses, decodeOrderStatusMessage);
  roundTrip(confirmed, decodeConfirmedOrder);
  t.pass('round trips hold');
});

t.test('anything else is null', async (t) => {
  const good = { orderId: 's~1', saleId: 's', customerId: 'c', quantity: 1, createdAt: 0 };
  const bad: [string, unknown][] = [
    ['a string', 'hello'],
    ['no orderId', { ...good, orderId: undefined }],
    ['a bad orderId', { ...good, orderId: 's-1' }],
    ['quantity 0', { ...good, quantity: 0 }],
    ['quantity as text', { ...good, quantity: '1' }],
    ['a fractional time', { ...good, createdAt: 1.5 }],
  ];
  for (const [what, value] of bad) t.equal(decodeConfirmedOrder(encodeMessage(value)), null, what);
  t.same(decodeConfirmedOrder(encodeMessage(good)), good, 'the control decodes');
  t.equal(decodeStockMessage(new Uint8Array([0xff, 0xfe])), null, 'not UTF-8');
  t.equal(decodeStockMessage(encodeMessage({ type: 'stock', saleId: 's' })), null, 'no numbers');
  t.equal(
    decodeOrderStatusMessage(encodeMessage({ type: 'orderStatus', saleId: 's', changes: [] })),
    null,
    'a notice without changes',
  );
  t.equal(decodeStockMessage(new TextEncoder().encode('{"type":')), null, 'torn JSON');
});
