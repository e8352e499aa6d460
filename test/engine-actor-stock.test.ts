import t from 'tap';
import { heldActor } from './helpers/held-actor.js';

// The stock the engine tells gateways is the stock its WAL holds: a gateway refuses SOLD_OUT on
// it, so a value that counts orders whose fsync may still fail would refuse buyers wrongly.

t.test('stock is announced once its batch is durable, as of that batch', async (t) => {
  const { log, stock, command, drained } = heldActor(t);
  const configured = command({
    type: 'ConfigureSale',
    name: 'S',
    stock: 2,
    perCustomerLimit: 2,
  });
  await drained();
  t.equal(log.waiting, 1, 'the sale is being written');
  t.same(stock, [], 'nothing announced before it is durable');
  log.settle();
  await configured;
  t.same(stock.at(-1), { type: 'stock', saleId: 's', stock: 2, remaining: 2 });

  const first = command({ type: 'PlaceOrder', customerId: 'alice', quantity: 1 });
  await drained();
  const second = command({ type: 'PlaceOrder', customerId: 'bob', quantity: 1 });
  await drained();
  t.equal(log.waiting, 2, 'two batches in flight, the live state sold out');
  log.settle();
  await first;
  t.same(
    stock.at(-1),
    { type: 'stock', saleId: 's', stock: 2, remaining: 1 },
    "the first batch's stock, not the live state's 0: the second may still fail",
  );
  log.settle();
  await second;
  t.same(stock.at(-1), { type: 'stock', saleId: 's', stock: 2, remaining: 0 });
});
