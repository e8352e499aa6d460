import { pino } from 'pino';
import t from 'tap';
import type { StreamPublish } from '../engine/shell/acked-publisher.js';
import { OUTBOX_INFLIGHT_MAX, Outbox, type OutboxMessage } from '../engine/shell/outbox.js';
import { WatermarkFile } from '../engine/shell/watermark-file.js';

// The order the outbox sends in: LSN order, as many at once as OUTBOX_INFLIGHT_MAX allows, and a
// message whose send failed goes out again before any message not yet sent. The publish function
// is the test's: each send waits until the test settles it, so the order is the test's to see.

const BACKLOG = OUTBOX_INFLIGHT_MAX + 50;

interface Send {
  readonly lsn: number;
  readonly succeed: () => void;
  readonly fail: () => void;
}

/** A publish function whose sends the test settles one by one. */
class ControlledJetStream {
  readonly sends: Send[] = [];
  private waiter: { count: number; resolve: () => void } | null = null;

  readonly publish = (message: StreamPublish): Promise<void> =>
    new Promise((resolve, reject) => {
      this.sends.push({
        lsn: lsnOf(message.msgId),
        succeed: resolve,
        fail: () => reject(new Error('no JetStream')),
      });
      if (this.waiter !== null && this.sends.length >= this.waiter.count) this.waiter.resolve();
    });

  /** Resolves once `count` sends were made in all. */
  sent(count: number): Promise<void> {
    if (this.sends.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = { count, resolve };
    });
  }

  lsns(from = 0): number[] {
    return this.sends.slice(from).map((send) => send.lsn);
  }

  fail(lsns: readonly number[]): void {
    for (const lsn of lsns) this.sends.find((send) => send.lsn === lsn)?.fail();
  }

  /** Lets every send from the `from`th on succeed (a send settled already stays as it was). */
  succeedFrom(from: number): void {
    for (const send of this.sends.slice(from)) send.succeed();
  }
}

/** The test's message ids carry their LSN: the message is sent without it. */
const msgIdOf = (lsn: number): string => `s~${lsn}`;
const lsnOf = (msgId: string): number => Number(msgId.split('~')[1]);

function messages(from: number, to: number): OutboxMessage[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    lsn: from + i,
    subject: 'orders.confirmed.s',
    msgId: msgIdOf(from + i),
    data: new Uint8Array([1]),
  }));
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A logger whose first warning the test can await (the outbox warns once per back-off step). */
function warningLogger() {
  let warned: () => void = () => undefined;
  const firstWarning = new Promise<void>((resolve) => {
    warned = resolve;
  });
  const logger = pino({ level: 'warn' }, { write: () => warned() });
  return { logger, firstWarning };
}

t.test('messages go in LSN order; failed ones go again before the unsent ones', async (t) => {
  const jetStream = new ControlledJetStream();
  const { logger, firstWarning } = warningLogger();
  const outbox = new Outbox({
    publish: jetStream.publish,
    logger,
    watermarkFile: new WatermarkFile(t.testdir()),
    watermark: 0,
    backlogMax: BACKLOG,
  });
  t.teardown(() => outbox.close());

  outbox.enqueue(messages(1, BACKLOG));
  t.same(jetStream.lsns(), range(1, OUTBOX_INFLIGHT_MAX), 'the first ones at once, in order');

  // The sends of 10 and then 20 fail; the outbox backs off (and warns) before the rest of the
  // first round succeeds, so no unsent message can slip in before the failed ones.
  jetStream.fail([10, 20]);
  await firstWarning;
  jetStream.succeedFrom(0);
  const retried = OUTBOX_INFLIGHT_MAX + 2 + (BACKLOG - OUTBOX_INFLIGHT_MAX);
  await jetStream.sent(retried); // after the retry delay
  t.same(
    jetStream.lsns(OUTBOX_INFLIGHT_MAX),
    [20, 10, ...range(OUTBOX_INFLIGHT_MAX + 1, BACKLOG)],
    'the failed ones first (each put back in front), then the rest in LSN order',
  );
  t.equal(outbox.watermark, 9, 'the watermark stops below the first unacknowledged message');

  jetStream.succeedFrom(OUTBOX_INFLIGHT_MAX);
  await outbox.whenIdle();
  t.equal(outbox.backlog, 0, 'every message acknowledged');
  t.equal(outbox.watermark, BACKLOG, 'the watermark reached the last message');
  t.same(outbox.stats, { published: BACKLOG, publishFailures: 2 });
});
