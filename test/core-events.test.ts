import t from 'tap';
import { type Event, ORDER_HISTORY_ENTRIES_MAX } from '../engine/core/index.js';
import { configure, order, T0 } from './helpers/core.js';
import { given } from './helpers/decider-spec.js';

// What each decision writes to the WAL, pinned event by event: given a history, when a command,
// then these events (or this refusal, and nothing written).

const configured = (stock = 3, perCustomerLimit = 2): Event => ({
  type: 'SaleConfigured',
  saleId: 's',
  name: 'Sale s',
  stock,
  perCustomerLimit,
  startsAt: null,
  endsAt: null,
  at: T0,
});

const placed = (sequence: number, customerId: string, quantity = 1, key?: string): Event => ({
  type: 'OrderPlaced',
  orderId: `s~${sequence}`,
  saleId: 's',
  customerId,
  quantity,
  idempotencyKey: key ?? null,
  requestHash: key === undefined ? null : `q=${quantity}`,
  at: T0,
});

const shipping = (orderId: string, status: 'SHIPPING_DELAYED' | 'SHIPPING_REQUESTED'): Event => ({
  type: 'ShippingStatusRecorded',
  orderId,
  status,
  trackingId: status === 'SHIPPING_REQUESTED' ? 'TRK-1' : null,
  message: null,
  at: T0 + 1,
});

const report = (orderId: string, status: 'SHIPPING_DELAYED' | 'SHIPPING_REQUESTED') => ({
  type: 'RecordShippingStatus' as const,
  orderId,
  status,
  trackingId: status === 'SHIPPING_REQUESTED' ? 'TRK-1' : null,
  message: null,
  at: T0 + 1,
});

t.test('ConfigureSale', async (t) => {
  given([])
    .when(configure('s', { stock: 3 }))
    .thenEvents(t, [configured()], 'a new sale');
  given([configured()])
    .when(configure('s', { stock: 5 }))
    .thenEvents(t, [{ ...configured(5) }], 'a change: the whole settings again');
  given([configured()])
    .when(configure('s', { stock: -1 }))
    .thenRefused(t, 'INVALID_REQUEST');
});

t.test('PlaceOrder', async (t) => {
  given([configured()])
    .when(order('s', 'alice', 2))
    .thenEvents(t, [placed(1, 'alice', 2)]);
  given([configured(), placed(1, 'alice')])
    .when(order('s', 'bob'))
    .thenEvents(t, [placed(2, 'bob')], 'numbered after the history');
  given([configured(), placed(1, 'alice', 1, 'k')])
    .when(order('s', 'alice', 1, { idempotencyKey: 'k' }))
    .thenEvents(t, [], 'a replay writes nothing');
  given([configured(), placed(1, 'alice', 1, 'k')])
    .when(order('s', 'alice', 2, { idempotencyKey: 'k' }))
    .thenRefused(t, 'IDEMPOTENCY_KEY_REUSED');
  given([configured(), placed(1, 'alice', 2)])
    .when(order('s', 'alice'))
    .thenRefused(t, 'LIMIT_EXCEEDED', { limit: 2, purchased: 2 });
  given([configured(), placed(1, 'alice', 2), placed(2, 'bob')])
    .when(order('s', 'carol'))
    .thenRefused(t, 'SOLD_OUT');
  given([configured(), placed(1, 'alice', 2)])
    .when(order('s', 'bob', 2))
    .thenRefused(t, 'INSUFFICIENT_STOCK', { remaining: 1 });
  given([]).when(order('s', 'alice')).thenRefused(t, 'SALE_NOT_FOUND');
});

t.test('RecordShippingStatus', async (t) => {
  const history = [configured(), placed(1, 'alice')];
  given(history)
    .when(report('s~1', 'SHIPPING_DELAYED'))
    .thenEvents(t, [shipping('s~1', 'SHIPPING_DELAYED')]);
  given([...history, shipping('s~1', 'SHIPPING_DELAYED')])
    .when(report('s~1', 'SHIPPING_DELAYED'))
    .thenEvents(t, [], 'the same status again writes nothing');
  given([...history, shipping('s~1', 'SHIPPING_REQUESTED')])
    .when(report('s~1', 'SHIPPING_DELAYED'))
    .thenEvents(t, [], 'nothing after SHIPPING_REQUESTED, which is final');
  given(history).when(report('s~9', 'SHIPPING_DELAYED')).thenRefused(t, 'ORDER_NOT_FOUND');
});

t.test('a full history takes only the final status', async (t) => {
  const bounces: Event[] = [];
  for (let i = 1; i < ORDER_HISTORY_ENTRIES_MAX; i += 1)
    bounces.push({
      ...shipping('s~1', 'SHIPPING_DELAYED'),
      status: i % 2 === 1 ? 'SHIPPING_DELAYED' : 'SHIPPING_FAILED',
    } as Event);
  const full = [configured(), placed(1, 'alice'), ...bounces];
  const last = bounces.at(-1) as Extract<Event, { type: 'ShippingStatusRecorded' }>;
  const other = last.status === 'SHIPPING_DELAYED' ? 'SHIPPING_FAILED' : 'SHIPPING_DELAYED';
  given(full)
    .when({ ...report('s~1', 'SHIPPING_DELAYED'), status: other })
    .thenEvents(t, [], 'another bounce is not recorded');
  given(full)
    .when(report('s~1', 'SHIPPING_REQUESTED'))
    .thenEvents(t, [shipping('s~1', 'SHIPPING_REQUESTED')], 'the shipment still is');
});
