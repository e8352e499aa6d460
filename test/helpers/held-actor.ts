import type { Test } from 'tap';
import { initialState } from '../../engine/core/index.js';
import type {
  CommandReply,
  OrderStatusMessage,
  StockMessage,
} from '../../engine/protocol/index.js';
import type { CommandRequest } from '../../engine/protocol/schemas.js';
import { type ActorLog, EngineActor } from '../../engine/shell/actor.js';

// The engine's actor on a log whose appends become durable when the test says so, recording what
// it announces: for tests of what the actor tells the world, and when. The real WAL's group
// commit is tested in wal-*.test.ts.

/** A log whose appends settle only when `settle` is called, in order. */
export class HeldLog implements ActorLog {
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

  /** Makes the oldest append durable; `skewLsn` makes the log report another last LSN (a bug). */
  settle(skewLsn = 0): void {
    const next = this.held.shift();
    if (next === undefined) throw new Error('nothing to settle');
    next.resolve(next.lsn + skewLsn);
  }
}

/**
 * An actor on a HeldLog, the stock and status notices it sends, and a way to command sale `s`.
 * A test that expects the actor to fail passes `onFatal`; the actor is then not closed at the
 * end (a failed actor answers nothing more, so closing it would wait for ever).
 */
export function heldActor(t: Test, expected: { onFatal?: (error: unknown) => void } = {}) {
  const log = new HeldLog();
  const stock: StockMessage[] = [];
  const statuses: OrderStatusMessage[] = [];
  const actor = new EngineActor({
    state: initialState(),
    log,
    clock: () => Date.UTC(2026, 10, 30),
    mailboxCommandsMax: 100,
    onFatal: expected.onFatal ?? ((error) => t.fail(`fatal: ${String(error)}`)),
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
      statusChanged: (message) => statuses.push(message),
      stockChanged: (message) => stock.push(message),
      refusal: () => null,
    },
  });
  if (expected.onFatal === undefined) t.teardown(() => actor.close());
  /** Offers a command for sale `s`; resolves with its reply (once durable, if it wrote). */
  const command = (request: CommandRequest): Promise<CommandReply> =>
    new Promise((respond) => {
      if (!actor.offer({ kind: 'command', saleId: 's', request, respond }))
        throw new Error(`${request.type} refused by the mailbox`);
    });
  /** Lets the actor drain what it was offered (it drains on setImmediate). */
  const drained = () => new Promise((resolve) => setImmediate(resolve));
  return { actor, log, stock, statuses, command, drained };
}
