import t from 'tap';
import { heldActor } from './helpers/held-actor.js';

// Status notices are a core publish after the change is durable: an engine that dies in between
// never sends one. The agent then reports the same status again (it had no answer), which changes
// nothing; the engine announces the status again then, so live pages still learn of it.

t.test('a repeated report announces the current status again', async (t) => {
  const { log, statuses, command, drained } = heldActor(t);
  const settleNext = async <T>(reply: Promise<T>) => {
    await drained();
    log.settle();
    return reply;
  };
  await settleNext(command({ type: 'ConfigureSale', name: 'S', stock: 5, perCustomerLimit: 1 }));
  const placed = await settleNext(
    command({ type: 'PlaceOrder', customerId: 'alice', quantity: 1 }),
  );
  if (!placed.ok || placed.kind !== 'order') throw new Error('order refused');
  const { orderId } = placed.order;
  const report = {
    type: 'RecordShippingStatus',
    orderId,
    status: 'SHIPPING_REQUESTED',
    trackingId: 'TRACK-1',
  } as const;
  await settleNext(command(report));
  const first = statuses.at(-1);
  t.match(first, { saleId: 's', changes: [{ orderId, status: 'SHIPPING_REQUESTED' }] });

  const before = statuses.length;
  const again = await command(report);
  t.match(again, { ok: true }, 'the repeat is answered, nothing written');
  t.equal(log.waiting, 0, 'nothing to make durable');
  t.equal(statuses.length, before + 1, 'and the status is announced again');
  t.same(statuses.at(-1), first, 'the same change');

  const late = await command({ ...report, status: 'SHIPPING_DELAYED', trackingId: undefined });
  t.match(late, { ok: true }, 'a late, older report is answered');
  t.equal(statuses.length, before + 1, 'but announces nothing: it is not the current status');
});
