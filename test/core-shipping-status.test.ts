import t from 'tap';
import { type Command, type ShippingStatus, viewOrder } from '../engine/core/index.js';
import { acceptedOrderId, order, rejectionCode, stateWithSale, step, T0 } from './helpers/core.js';

const report = (
  orderId: string,
  status: ShippingStatus,
  extra: { trackingId?: string; message?: string; at?: number } = {},
): Extract<Command, { type: 'RecordShippingStatus' }> => ({
  type: 'RecordShippingStatus',
  orderId,
  status,
  trackingId: extra.trackingId ?? (status === 'SHIPPING_REQUESTED' ? 'TRK-1' : null),
  message: extra.message ?? null,
  at: extra.at ?? T0 + 1,
});

const setup = () => {
  const state = stateWithSale('s1');
  const orderId = acceptedOrderId(step(state, order('s1', 'a', 1)));
  return { state, orderId };
};

t.test('a confirmed order moves to delayed, then requested, with history', async (t) => {
  const { state, orderId } = setup();
  step(
    state,
    report(orderId, 'SHIPPING_DELAYED', { message: 'Shipping will be arranged shortly.' }),
  );
  step(state, report(orderId, 'SHIPPING_REQUESTED', { trackingId: 'TRK-9', at: T0 + 2 }));
  const view = viewOrder(state, orderId);
  t.equal(view?.status, 'SHIPPING_REQUESTED');
  t.equal(view?.trackingId, 'TRK-9');
  t.same(
    view?.history.map((h) => h.status),
    ['CONFIRMED', 'SHIPPING_DELAYED', 'SHIPPING_REQUESTED'],
  );
  t.equal(view?.history[1]?.message, 'Shipping will be arranged shortly.');
});

t.test('a late report never undoes a requested shipment', async (t) => {
  const { state, orderId } = setup();
  step(state, report(orderId, 'SHIPPING_REQUESTED'));
  for (const status of ['SHIPPING_DELAYED', 'SHIPPING_FAILED', 'SHIPPING_REQUESTED'] as const) {
    const decision = step(state, report(orderId, status, { trackingId: 'OTHER' }));
    t.same(decision.ok && decision.outcome, {
      type: 'ShippingStatusRecorded',
      orderId,
      changed: false,
    });
  }
  t.equal(viewOrder(state, orderId)?.trackingId, 'TRK-1');
  t.equal(viewOrder(state, orderId)?.history.length, 2);
});

t.test('a redelivered report changes nothing', async (t) => {
  const { state, orderId } = setup();
  step(state, report(orderId, 'SHIPPING_DELAYED'));
  const again = step(state, report(orderId, 'SHIPPING_DELAYED'));
  t.same(again.ok && again.events, []);
  t.equal(viewOrder(state, orderId)?.history.length, 2);
});

t.test('a failed order can still be shipped after a dead-letter replay', async (t) => {
  const { state, orderId } = setup();
  step(state, report(orderId, 'SHIPPING_FAILED'));
  step(state, report(orderId, 'SHIPPING_REQUESTED'));
  t.equal(viewOrder(state, orderId)?.status, 'SHIPPING_REQUESTED');
});

t.test('the history is bounded but the final status always lands', async (t) => {
  const { state, orderId } = setup();
  for (let i = 0; i < 100; i += 1) {
    step(state, report(orderId, i % 2 === 0 ? 'SHIPPING_DELAYED' : 'SHIPPING_FAILED'));
  }
  t.equal(viewOrder(state, orderId)?.history.length, 64);
  step(state, report(orderId, 'SHIPPING_REQUESTED'));
  t.equal(viewOrder(state, orderId)?.status, 'SHIPPING_REQUESTED');
});

t.test('rejections: unknown order, missing tracking id, bad message', async (t) => {
  const { state, orderId } = setup();
  t.equal(rejectionCode(step(state, report('s1~999', 'SHIPPING_DELAYED'))), 'ORDER_NOT_FOUND');
  const noTracking: Command = { ...report(orderId, 'SHIPPING_REQUESTED'), trackingId: null };
  t.equal(rejectionCode(step(state, noTracking)), 'INVALID_REQUEST');
  t.equal(
    rejectionCode(step(state, report(orderId, 'SHIPPING_DELAYED', { message: 'm'.repeat(501) }))),
    'INVALID_REQUEST',
  );
  t.equal(viewOrder(state, orderId)?.status, 'CONFIRMED', 'unchanged');
});
