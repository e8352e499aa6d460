import t from 'tap';
import { type StockMessage, saleStockSubject } from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { waitForOrdersStream } from '../scripts/client/orders-stream.js';
import { natsClient, startEngine, startNats, tempDir } from './helpers/nats.js';

// The opening second: 5,000 concurrent order requests from 2,500 customers (some sending ten at
// once) for 100 units at 2 per customer, straight over NATS to a real engine process.

const STOCK = 100;
const LIMIT = 2;
const CUSTOMERS = 2_500;
const GREEDY_CUSTOMERS = 250;
const GREEDY_REQUESTS = 10;
const OUTBOX_WAIT_MS = 20_000;

t.test(
  'a burst sells exactly the stock, nobody above the cap, each order once in ORDERS',
  async (t) => {
    const nats = await startNats(t);
    const nc = await natsClient(t, nats.url);
    await startEngine(t, {
      natsUrl: nats.url,
      walDir: await tempDir(t, 'wal'),
      sales: ['burst'],
    });
    const client = new EngineClient(nc);
    t.ok((await client.configureSale('burst', { stock: STOCK, perCustomerLimit: LIMIT })).ok);

    const stockMessages: StockMessage[] = [];
    let announceSoldOut: () => void = () => undefined;
    const soldOutAnnounced = new Promise<void>((resolve) => {
      announceSoldOut = resolve;
    });
    nc.subscribe(saleStockSubject('burst'), {
      callback: (_e, msg) => {
        const message = msg.json<StockMessage>();
        stockMessages.push(message);
        if (message.remaining === 0) announceSoldOut();
      },
    });
    await nc.flush();

    const requests: { customerId: string; quantity: number }[] = [];
    for (let c = 0; c < CUSTOMERS; c += 1) {
      const sends = c < GREEDY_CUSTOMERS ? GREEDY_REQUESTS : 1;
      for (let i = 0; i < sends; i += 1)
        requests.push({ customerId: `c${c}`, quantity: 1 + ((c + i) % 2) });
    }
    while (requests.length < 5_000)
      requests.push({ customerId: `late${requests.length}`, quantity: 1 });
    const replies = await Promise.all(
      requests.map((r) => client.placeOrder('burst', r.customerId, r.quantity)),
    );

    const unitsByCustomer = new Map<string, number>();
    const orderIds = new Set<string>();
    const codes = new Map<string, number>();
    replies.forEach((reply, i) => {
      if (reply.ok && reply.kind === 'order') {
        orderIds.add(reply.order.orderId);
        const customerId = requests[i]!.customerId;
        t.equal(reply.order.customerId, customerId);
        unitsByCustomer.set(
          customerId,
          (unitsByCustomer.get(customerId) ?? 0) + reply.order.quantity,
        );
      } else if (!reply.ok) {
        codes.set(reply.error.code, (codes.get(reply.error.code) ?? 0) + 1);
      }
    });
    const sold = [...unitsByCustomer.values()].reduce((a, b) => a + b, 0);
    t.equal(sold, STOCK, 'exactly the stock was sold');
    t.ok(
      [...unitsByCustomer.values()].every((units) => units <= LIMIT),
      'nobody above the cap',
    );
    t.equal(
      orderIds.size + [...codes.values()].reduce((a, b) => a + b, 0),
      requests.length,
      'every request answered',
    );
    t.same(
      [...codes.keys()].filter(
        (code) => !['SOLD_OUT', 'INSUFFICIENT_STOCK', 'LIMIT_EXCEEDED'].includes(code),
      ),
      [],
      `only the expected rejections (${JSON.stringify(Object.fromEntries(codes))})`,
    );
    t.ok((codes.get('LIMIT_EXCEEDED') ?? 0) > 0, 'greedy customers were capped');

    const sale = await client.sale('burst');
    t.equal(sale.remaining, 0);
    t.equal(sale.status, 'SOLD_OUT');
    for (const [customerId, units] of unitsByCustomer) {
      if (units > 1) t.equal((await client.customer('burst', customerId)).purchased, units);
    }

    const stored = await waitForOrdersStream(nc, orderIds.size, OUTBOX_WAIT_MS);
    t.equal(stored.length, orderIds.size, 'ORDERS holds each accepted order exactly once');
    t.same(new Set(stored.map((m) => m.orderId)), orderIds);
    t.ok(
      stored.every((m) => m.msgId === m.orderId),
      'Nats-Msg-Id is the orderId',
    );

    await t.resolves(soldOutAnnounced, 'the sold-out stock value arrives');
    t.equal(stockMessages.at(-1)?.remaining, 0, 'and it is the last one');
    t.ok(
      stockMessages.length < 50,
      `stock updates were coalesced (${stockMessages.length} messages)`,
    );
  },
);
