import t, { type Test } from 'tap';
import { initialState } from '../engine/core/index.js';
import type { CommandReply, OrderStatusMessage, StockMessage } from '../engine/protocol/index.js';
import type { CommandRequest } from '../engine/protocol/schemas.js';
import { type ActorLog, EngineActor, SalesLostError } from '../engine/shell/actor.js';
import type { OutboxMessage } from '../engine/shell/outbox.js';

// In a cluster a batch may be durable for some sales and lost for others (a lease taken, a log
// that refused our record): the lost sales' requests are refused, nothing about them is
// announced, the engine is told which sales it lost, and the other sales' answers go out as ever.
// The process does not stop for it (only a local WAL failure is fatal).

/** A log that loses the sales in `losing` from every append while they are there. */
class LosingLog implements ActorLog {
  lastLsn = 0;
  readonly losing = new Set<string>();

  async append(payloads: readonly Uint8Array[], saleIds: readonly string[]): Promise<number> {
    this.lastLsn += payloads.length;
    const lost = new Map(
      saleIds.filter((s) => this.losing.has(s)).map((s) => [s, 'fenced by a newer owner']),
    );
    if (lost.size > 0) throw new SalesLostError(this.lastLsn, lost);
    return this.lastLsn;
  }

  async writeSnapshot(): Promise<void> {}
}

function losingActor(t: Test) {
  const log = new LosingLog();
  const seen = {
    outbox: [] as OutboxMessage[],
    statuses: [] as OrderStatusMessage[],
    stock: [] as StockMessage[],
    lost: [] as string[],
    fatal: [] as unknown[],
  };
  const served = new Set(['a', 'b']);
  const actor = new EngineActor({
    state: initialState(),
    log,
    clock: () => Date.UTC(2026, 11, 5),
    mailboxCommandsMax: 100,
    onFatal: (error) => seen.fatal.push(error),
    recoveredLsn: 0,
    serves: (saleId) => served.has(saleId),
    snapshots: {
      everyRecords: 1_000_000,
      pendingOutbox: () => [],
      encode: async () => [],
      onError: () => undefined,
      onWritten: () => undefined,
    },
    effects: {
      confirmed: (messages) => seen.outbox.push(...messages),
      statusChanged: (message) => seen.statuses.push(message),
      stockChanged: (message) => seen.stock.push(message),
      refusal: () => null,
      salesLost: (sales) => {
        for (const saleId of sales.keys()) {
          seen.lost.push(saleId);
          served.delete(saleId);
        }
      },
    },
  });
  t.teardown(() => actor.close());
  const command = (saleId: string, request: CommandRequest): Promise<CommandReply> =>
    new Promise((respond) => {
      if (!actor.offer({ kind: 'command', saleId, request, respond }))
        throw new Error(`${request.type} refused by the mailbox`);
    });
  const configure = (saleId: string) =>
    command(saleId, { type: 'ConfigureSale', name: saleId, stock: 10, perCustomerLimit: 2 });
  const order = (saleId: string, customerId: string) =>
    command(saleId, { type: 'PlaceOrder', customerId, quantity: 1 });
  return { log, seen, configure, order };
}

t.test(
  'a sale lost in a batch is refused and handed back; the other sale is answered',
  async (t) => {
    const { log, seen, configure, order } = losingActor(t);
    await Promise.all([configure('a'), configure('b')]);
    const announced = { outbox: seen.outbox.length, stock: seen.stock.length };
    log.losing.add('b');
    const [kept, lost] = await Promise.all([order('a', 'alice'), order('b', 'bob')]);
    t.match(kept, { ok: true, kind: 'order', order: { saleId: 'a' } }, "sale a's order is taken");
    t.match(lost, { ok: false, error: { code: 'ENGINE_UNAVAILABLE' } }, "sale b's is refused");
    t.same(seen.lost, ['b'], 'the engine is told it lost sale b, once');
    const outbox = seen.outbox.slice(announced.outbox);
    t.equal(outbox.length, 1, "only sale a's order goes to ORDERS");
    t.match(outbox[0]?.subject, /\.a\b|\ba\./, "and it is sale a's");
    t.same(
      seen.stock.slice(announced.stock).map((m) => m.saleId),
      ['a'],
      "only sale a's stock is announced",
    );
    t.notOk(
      seen.statuses.some((m) => m.saleId === 'b' && m.changes.length > 0),
      'no status notice for sale b',
    );
    t.same(seen.fatal, [], 'the actor carries on');
  },
);

t.test('requests queued for a sale handed over are refused, not decided', async (t) => {
  const { log, seen, configure, order } = losingActor(t);
  await configure('b');
  log.losing.add('b');
  await order('b', 'bob');
  log.losing.delete('b');
  const after = await order('b', 'carol');
  t.match(after, { ok: false, error: { code: 'ENGINE_UNAVAILABLE' } }, 'not SALE_NOT_FOUND');
  t.equal(seen.outbox.length, 0, 'nothing was confirmed for it');
  t.same(seen.fatal, []);
});
