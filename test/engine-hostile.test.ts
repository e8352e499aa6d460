import t from 'tap';
import {
  decodeReply,
  type ErrorReply,
  ORDER_BATCH_ORDERS_MAX,
  saleCommandSubject,
  saleQuerySubject,
} from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// I7 on the NATS side: whatever lands on the engine's subjects, it answers with an error and
// keeps serving; nothing changes state.

const encoder = new TextEncoder();

// Batches lead with valid orders: if any part of a refused batch were placed, the "state
// unchanged" check below would see the stock move.
const validOrder = (customerId: string) => ({ type: 'PlaceOrder', customerId, quantity: 1 });
const batch = (orders: unknown, extra: object = {}) =>
  encoder.encode(JSON.stringify({ type: 'PlaceOrders', orders, ...extra }));

const hostileCommands: [string, Uint8Array][] = [
  ['empty', new Uint8Array()],
  ['not JSON', encoder.encode('buy buy buy')],
  ['not UTF-8', new Uint8Array([0xff, 0xfe, 0xfd])],
  ['JSON null', encoder.encode('null')],
  ['JSON array', encoder.encode('[1,2,3]')],
  ['unknown command', encoder.encode('{"type":"DropTables"}')],
  ['no type', encoder.encode('{"customerId":"a","quantity":1}')],
  ['string quantity', encoder.encode('{"type":"PlaceOrder","customerId":"a","quantity":"1"}')],
  ['float quantity', encoder.encode('{"type":"PlaceOrder","customerId":"a","quantity":1.5}')],
  ['negative quantity', encoder.encode('{"type":"PlaceOrder","customerId":"a","quantity":-3}')],
  ['huge quantity', encoder.encode('{"type":"PlaceOrder","customerId":"a","quantity":1e300}')],
  [
    'unknown field',
    encoder.encode('{"type":"PlaceOrder","customerId":"a","quantity":1,"price":0}'),
  ],
  [
    'prototype pollution',
    encoder.encode('{"type":"PlaceOrder","customerId":"a","quantity":1,"__proto__":{"x":1}}'),
  ],
  ['empty customer', encoder.encode('{"type":"PlaceOrder","customerId":"","quantity":1}')],
  [
    'long customer',
    encoder.encode(
      JSON.stringify({ type: 'PlaceOrder', customerId: 'x'.repeat(200), quantity: 1 }),
    ),
  ],
  [
    'huge payload',
    encoder.encode(
      JSON.stringify({
        type: 'PlaceOrder',
        customerId: 'a',
        quantity: 1,
        pad: 'x'.repeat(200_000),
      }),
    ),
  ],
  [
    'negative stock',
    encoder.encode('{"type":"ConfigureSale","name":"x","stock":-1,"perCustomerLimit":2}'),
  ],
  [
    'order of another sale',
    encoder.encode(
      '{"type":"RecordShippingStatus","orderId":"other~1","status":"SHIPPING_FAILED"}',
    ),
  ],
  [
    'bad status',
    encoder.encode('{"type":"RecordShippingStatus","orderId":"hostile~1","status":"DELIVERED"}'),
  ],
  ['empty batch', batch([])],
  [
    'batch over the limit',
    batch(Array.from({ length: ORDER_BATCH_ORDERS_MAX + 1 }, (_, i) => validOrder(`b${i}`))),
  ],
  [
    'batch with one invalid order',
    batch([
      validOrder('a'),
      validOrder('b'),
      { type: 'PlaceOrder', customerId: 'c', quantity: '1' },
    ]),
  ],
  [
    'batch with a ConfigureSale',
    batch([
      validOrder('a'),
      { type: 'ConfigureSale', name: 'x', stock: 1_000, perCustomerLimit: 100 },
    ]),
  ],
  [
    'batch with a nested batch',
    batch([validOrder('a'), { type: 'PlaceOrders', orders: [validOrder('b')] }]),
  ],
  ['batch with an unknown field', batch([validOrder('a')], { priority: 1 })],
  ['batch orders not an array', batch({ 0: validOrder('a') })],
  ['batch orders null', batch(null)],
  ['batch without orders', encoder.encode('{"type":"PlaceOrders"}')],
];

t.test('hostile messages get INVALID_REQUEST and change nothing', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  await startEngine(t, { natsUrl: nats.url, walDir: await tempDir(t, 'wal'), sales: ['hostile'] });
  const client = new EngineClient(nc);
  await client.configureSale('hostile', { stock: 10, perCustomerLimit: 2 });
  const before = await client.sale('hostile');

  for (const [label, payload] of hostileCommands) {
    for (const subject of [saleCommandSubject('hostile'), saleQuerySubject('hostile')]) {
      const msg = await nc.request(subject, payload, { timeout: 5_000 });
      const reply = decodeReply<ErrorReply>(msg.data);
      t.equal(reply.ok, false, `${label} on ${subject}: refused`);
      t.equal(reply.error?.code, 'INVALID_REQUEST', `${label} on ${subject}: INVALID_REQUEST`);
      t.type(reply.error?.message, 'string');
    }
  }
  // A message with no reply subject is dropped without a crash.
  nc.publish(saleCommandSubject('hostile'), encoder.encode('{"type":"PlaceOrder"}'));

  t.same(await client.sale('hostile'), before, 'state unchanged');
  const order = await client.placeOrder('hostile', 'after', 1);
  t.ok(order.ok, 'the engine still serves');
});
