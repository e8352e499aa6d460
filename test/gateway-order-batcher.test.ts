import t from 'tap';
import {
  type BatchReply,
  type CommandReply,
  type ErrorReply,
  ORDER_BATCH_ORDERS_MAX,
  type PlaceOrderRequest,
} from '../engine/protocol/index.js';
import { OrderBatcher, type SendToEngine } from '../gateway/order-batcher.js';

// The gateway's OrderBatcher against a recording engine: which messages leave (when, for which
// sale, in which shape and chunks) and which reply each caller gets back. No network: `send` is
// the batcher's only way out, so recording it sees everything the batcher does.

interface Sent {
  readonly saleId: string;
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the sent bodies field by field
  readonly body: any;
}

/** What the fake engine answers to one message (default: an order reply for every order). */
type Answer = (saleId: string, body: object) => CommandReply | BatchReply | Promise<never>;

const order = (customerId: string, quantity = 1): PlaceOrderRequest => ({
  type: 'PlaceOrder',
  customerId,
  quantity,
});

/** The engine's reply to one order: its customer and quantity, so a test can see whose it is. */
function orderReply(saleId: string, request: PlaceOrderRequest): CommandReply {
  return {
    ok: true,
    kind: 'order',
    replayed: false,
    order: {
      orderId: `${saleId}~${request.customerId}`,
      saleId,
      customerId: request.customerId,
      quantity: request.quantity,
      status: 'CONFIRMED',
      trackingId: null,
      createdAt: 0,
      history: [],
    },
  };
}

const engineAnswer: Answer = (saleId, body) => {
  const message = body as PlaceOrderRequest | { type: 'PlaceOrders'; orders: PlaceOrderRequest[] };
  if (message.type === 'PlaceOrder') return orderReply(saleId, message);
  return { ok: true, kind: 'batch', replies: message.orders.map((o) => orderReply(saleId, o)) };
};

function recordingEngine(answer: Answer = engineAnswer): { sent: Sent[]; send: SendToEngine } {
  const sent: Sent[] = [];
  const send = <T extends CommandReply | BatchReply>(saleId: string, body: object): Promise<T> => {
    sent.push({ saleId, body });
    // A synchronous throw from `answer` is a send() that throws.
    const reply = answer(saleId, body);
    return Promise.resolve(reply as T);
  };
  return { sent, send };
}

/** Lets the turn end: the batcher's setImmediate (scheduled earlier) runs before this one. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The customers of a reply, or of each reply of a list. */
const customerOf = (reply: CommandReply): string =>
  reply.ok && reply.kind === 'order'
    ? reply.order.customerId
    : `not an order: ${JSON.stringify(reply)}`;

const customersOf = (body: { orders: PlaceOrderRequest[] }) => body.orders.map((o) => o.customerId);

t.test('orders of one turn go as one PlaceOrders, in the order they came', async (t) => {
  const { sent, send } = recordingEngine();
  const batcher = new OrderBatcher(send);
  const replies = [batcher.place('s', order('c1', 1)), batcher.place('s', order('c2', 2))];
  await Promise.resolve();
  replies.push(batcher.place('s', order('c3', 3)));
  await new Promise<void>((resolve) =>
    process.nextTick(() => {
      replies.push(batcher.place('s', order('c4', 4)));
      resolve();
    }),
  );
  t.equal(sent.length, 0, 'nothing leaves before the turn ends');

  const answers = await Promise.all(replies);
  t.equal(sent.length, 1, 'one message for the turn');
  t.equal(sent[0]!.saleId, 's');
  t.same(sent[0]!.body, {
    type: 'PlaceOrders',
    orders: [order('c1', 1), order('c2', 2), order('c3', 3), order('c4', 4)],
  });
  t.same(answers.map(customerOf), ['c1', 'c2', 'c3', 'c4'], 'each caller gets its own reply');
  t.same(
    answers.map((a) => (a.ok && a.kind === 'order' ? a.order.quantity : 0)),
    [1, 2, 3, 4],
    'with its own quantity',
  );
});

t.test('orders of two sales in one turn: one message each', async (t) => {
  const { sent, send } = recordingEngine();
  const batcher = new OrderBatcher(send);
  const replies = await Promise.all([
    batcher.place('a', order('a1')),
    batcher.place('b', order('b1')),
    batcher.place('a', order('a2')),
    batcher.place('b', order('b2')),
    batcher.place('b', order('b3')),
  ]);
  t.equal(sent.length, 2, 'two messages');
  const bySale = new Map(sent.map((s) => [s.saleId, s.body]));
  t.same([...bySale.keys()].sort(), ['a', 'b'], 'one per sale');
  t.equal(bySale.get('a').type, 'PlaceOrders');
  t.same(customersOf(bySale.get('a')), ['a1', 'a2'], "sale a's orders only");
  t.equal(bySale.get('b').type, 'PlaceOrders');
  t.same(customersOf(bySale.get('b')), ['b1', 'b2', 'b3'], "sale b's orders only");
  t.same(replies.map(customerOf), ['a1', 'b1', 'a2', 'b2', 'b3'], 'each caller its own reply');
  t.same(
    replies.map((r) => (r.ok && r.kind === 'order' ? r.order.saleId : '')),
    ['a', 'b', 'a', 'b', 'b'],
    "from its own sale's engine",
  );
});

t.test('a lone order goes as a plain PlaceOrder', async (t) => {
  const { sent, send } = recordingEngine();
  const batcher = new OrderBatcher(send);
  const reply = await batcher.place('s', order('solo', 2));
  t.same(sent, [{ saleId: 's', body: order('solo', 2) }], 'the order itself, not a batch of one');
  t.same(reply, orderReply('s', order('solo', 2)), "the engine's reply, as it came");
});

t.test('ordersMax 3 and 7 orders: batches of 3, 3 and a plain 1', async (t) => {
  const { sent, send } = recordingEngine();
  const batcher = new OrderBatcher(send, 3);
  const customers = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
  const replies = await Promise.all(customers.map((c) => batcher.place('s', order(c))));
  t.equal(sent.length, 3, 'three messages');
  t.equal(sent[0]!.body.type, 'PlaceOrders');
  t.same(customersOf(sent[0]!.body), ['c1', 'c2', 'c3']);
  t.equal(sent[1]!.body.type, 'PlaceOrders');
  t.same(customersOf(sent[1]!.body), ['c4', 'c5', 'c6']);
  t.same(sent[2]!.body, order('c7'), 'the last one alone, as a plain order');
  t.same(replies.map(customerOf), customers, 'every caller its own reply, across the chunks');
});

t.test(`the default ordersMax is ${ORDER_BATCH_ORDERS_MAX}`, async (t) => {
  const { sent, send } = recordingEngine();
  const batcher = new OrderBatcher(send);
  const customers = Array.from({ length: ORDER_BATCH_ORDERS_MAX + 1 }, (_, i) => `c${i}`);
  const replies = await Promise.all(customers.map((c) => batcher.place('s', order(c))));
  t.equal(sent.length, 2);
  t.equal(sent[0]!.body.orders.length, ORDER_BATCH_ORDERS_MAX, 'a full batch');
  t.same(sent[1]!.body, order(customers.at(-1)!), 'then the one over, alone');
  t.same(replies.map(customerOf), customers);
});

t.test('ordersMax 1: every order alone', async (t) => {
  const { sent, send } = recordingEngine();
  const batcher = new OrderBatcher(send, 1);
  const customers = ['c1', 'c2', 'c3', 'c4'];
  const replies = await Promise.all(customers.map((c) => batcher.place('s', order(c))));
  t.same(
    sent.map((s) => s.body),
    customers.map((c) => order(c)),
    'four plain orders, in order',
  );
  t.same(replies.map(customerOf), customers);
});

t.test('orders of different turns: separate messages', async (t) => {
  const { sent, send } = recordingEngine();
  const batcher = new OrderBatcher(send);
  const first = batcher.place('s', order('c1'));
  await nextTurn();
  t.same(sent, [{ saleId: 's', body: order('c1') }], 'the first turn sent its order');
  const second = batcher.place('s', order('c2'));
  const third = batcher.place('s', order('c3'));
  await nextTurn();
  const fourth = batcher.place('s', order('c4'));
  const replies = await Promise.all([first, second, third, fourth]);
  t.equal(sent.length, 3, 'one message per turn');
  t.same(sent[1]!.body, { type: 'PlaceOrders', orders: [order('c2'), order('c3')] });
  t.same(sent[2]!.body, order('c4'));
  t.same(replies.map(customerOf), ['c1', 'c2', 'c3', 'c4']);
});

t.test("the engine's refusal of a whole batch is every caller's answer", async (t) => {
  const refusal: ErrorReply = {
    ok: false,
    error: { code: 'SALE_NOT_FOUND', message: 'This engine does not serve sale s.' },
  };
  const { sent, send } = recordingEngine(() => refusal);
  const batcher = new OrderBatcher(send);
  const replies = await Promise.all(['c1', 'c2', 'c3'].map((c) => batcher.place('s', order(c))));
  t.equal(sent.length, 1, 'one batch');
  t.same(replies, [refusal, refusal, refusal], 'each caller resolves with the refusal');
});

t.test('a batch reply of the wrong length rejects every caller of the batch', async (t) => {
  const { send } = recordingEngine((saleId, body) => {
    const { orders } = body as { orders: PlaceOrderRequest[] };
    return { ok: true, kind: 'batch', replies: orders.slice(1).map((o) => orderReply(saleId, o)) };
  });
  const batcher = new OrderBatcher(send);
  const replies = ['c1', 'c2', 'c3'].map((c) => batcher.place('s', order(c)));
  await Promise.all(
    replies.map((reply, i) => t.rejects(reply, /batch of 3/, `caller ${i + 1} rejected`)),
  );
});

t.test('a reply that is not a batch rejects every caller of the batch', async (t) => {
  const { send } = recordingEngine((saleId) => orderReply(saleId, order('someone')));
  const batcher = new OrderBatcher(send);
  const replies = ['c1', 'c2'].map((c) => batcher.place('s', order(c)));
  await Promise.all(
    replies.map((reply, i) =>
      t.rejects(reply, /batch of 2 with order/, `caller ${i + 1} rejected`),
    ),
  );
});

t.test("a send that throws rejects its batch's callers, not another sale's", async (t) => {
  const down = new Error('engine link down');
  for (const how of ['throws', 'rejects'] as const) {
    const { sent, send } = recordingEngine((saleId, body) => {
      if (saleId !== 'bad') return engineAnswer(saleId, body);
      if (how === 'throws') throw down;
      return Promise.reject(down);
    });
    const batcher = new OrderBatcher(send);
    const bad = ['b1', 'b2', 'b3'].map((c) => batcher.place('bad', order(c)));
    const good = ['g1', 'g2'].map((c) => batcher.place('good', order(c)));
    const settled = await Promise.allSettled([...bad, ...good]);
    t.equal(sent.length, 2, `${how}: both batches were sent`);
    t.same(
      settled.slice(0, 3).map((s) => (s.status === 'rejected' ? s.reason : s.status)),
      [down, down, down],
      `${how}: every caller of the failed batch gets the error`,
    );
    t.same(
      settled.slice(3).map((s) => (s.status === 'fulfilled' ? customerOf(s.value) : s.reason)),
      ['g1', 'g2'],
      `${how}: the other sale's callers get their replies`,
    );
    // The batcher is not stuck after a failure: the next turn's orders go out and are answered.
    const after = await batcher.place('good', order('g3'));
    t.equal(customerOf(after), 'g3', `${how}: a later order still goes through`);
  }
});
