import t from 'tap';
import {
  decodeCommandMessage,
  encodeMessage,
  largestPlaceOrder,
  NATS_PAYLOAD_BYTES_MAX,
  ORDER_BATCH_ORDERS_MAX,
  REQUEST_BYTES_MAX,
} from '../engine/protocol/index.js';

// The protocol's limits agree with each other: a gateway's batch of valid orders, however large
// each order is within its own limits, is never refused whole for its size (which would answer
// INVALID_REQUEST to every buyer in it for one buyer's long id).

t.test('a full batch of the largest valid orders is a valid request', async (t) => {
  const orders = Array.from({ length: ORDER_BATCH_ORDERS_MAX }, largestPlaceOrder);
  const bytes = encodeMessage({ type: 'PlaceOrders', orders });
  t.ok(bytes.byteLength > 96 * 1024, `it is large (${bytes.byteLength} bytes)`);
  const decoded = decodeCommandMessage(bytes);
  t.ok(decoded.ok, 'accepted');
  if (decoded.ok && decoded.value.type === 'PlaceOrders')
    t.equal(decoded.value.orders.length, ORDER_BATCH_ORDERS_MAX);
});

t.test('past REQUEST_BYTES_MAX a request is refused before it is parsed', async (t) => {
  const tooLarge = new Uint8Array(REQUEST_BYTES_MAX + 1);
  const decoded = decodeCommandMessage(tooLarge);
  t.notOk(decoded.ok);
  if (!decoded.ok)
    t.match(decoded.rejection, { code: 'INVALID_REQUEST', message: /bytes; at most/ });
  t.ok(REQUEST_BYTES_MAX <= NATS_PAYLOAD_BYTES_MAX, 'and any request within it can cross NATS');
});
