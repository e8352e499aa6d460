import t from 'tap';
import { initialState } from '../engine/core/index.js';
import type { CommandReply, StockMessage } from '../engine/protocol/index.js';
import { type ActorLog, EngineActor } from '../engine/shell/actor.js';

// The stock the engine tells gateways is the stock its WAL holds: a gateway refuses SOLD_OUT on
// it, so a value that counts orders whose fsync may still fail would refuse buyers wrongly. Here
// the log is a stand-in whose appends become durable when the test says so (the real WAL's
// group commit is tested in wal-*.test.ts).

/** A log whose appends settle only when `settle` is called, in order. */
class HeldLog implements ActorLog {
  lastLsn = 0;
  private readonly held: { lsn: number; resolve: (lsn: number) => void }[] = [];

  append(payloads: readonly Uint8Array[]): Promise<number> {
    this.lastLsn += payloads.length;
    const lsn = this.lastLsn;
    return new Promise((resolve) => this.held.push({ lsn, resolve }));
  }

  async writeSnapshot(): Promise<void> {}

  get waiting(): number {
    return this.held.length;
  }

  /** Makes the oldest append durable. */
  settle(): void {
    const next = this.held.shift();
    if (next === undefined) throw new Error('nothing to settle');
    next.resolve(next.lsn);
  }
}

t.test('stock is announced once its batch is durable, as of that batch', async (t) => {
  const log = new HeldLog();
  const announced: StockMessage[] = [];
  const actor = new EngineActor({
    state: initialState(),
    log,
    clock: () => Date.UTC(2026, 10, 30),
    mailboxCommandsMax: 100,
    onFatal: (error) => t.fail(`fatal: ${String(error)}`),
    recoveredLsn: 0,
    snapshots: {
      everyRecords: 1_000_000,
      pendingOutbox: () => [],
      encode: async () => [],
      onError: (error) => t.fail(`snapshot: ${String(error)}`),
      onWritten: () => undefined,
    },
    effects: {
      confirmed: () => undefined,
      statusChanged: () => undefined,
      stockChanged: (message) => announced.push(message),
      refusal: () => null,
    },
  });
  function command(request: {
    type: 'ConfigureSale' | 'PlaceOrder';
    [field: string]: unknown;
  }): Promise<CommandReply> {
    return new Promise((respond) => {
      t.ok(
        actor.offer({ kind: 'command', saleId: 's', request: request as never, respond }),
        `${request.type} accepted into the mailbox`,
      );
    });
  }

  const configured = command({ type: 'ConfigureSale', name: 'S', stock: 2, perCustomerLimit: 2 });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(log.waiting, 1, 'the sale is being written');
  t.same(announced, [], 'nothing announced before it is durable');
  log.settle();
  await configured;
  t.same(announced.at(-1), { type: 'stock', saleId: 's', stock: 2, remaining: 2 });

  const first = command({ type: 'PlaceOrder', customerId: 'alice', quantity: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  const second = command({ type: 'PlaceOrder', customerId: 'bob', quantity: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(log.waiting, 2, 'two batches in flight, the live state sold out');
  log.settle();
  await first;
  t.same(
    announced.at(-1),
    { type: 'stock', saleId: 's', stock: 2, remaining: 1 },
    "the first batch's stock, not the live state's 0: the second may still fail",
  );
  log.settle();
  await second;
  t.same(announced.at(-1), { type: 'stock', saleId: 's', stock: 2, remaining: 0 });
  await actor.close();
});
