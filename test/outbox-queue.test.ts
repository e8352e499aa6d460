import fc from 'fast-check';
import t from 'tap';
import { OUTBOX_QUEUE_SLOTS_MIN, OutboxQueue } from '../engine/shell/outbox-queue.js';

// The outbox's ring-buffer queue must keep exactly the order the plain array it replaced kept
// (push at the back, take from the front, failed sends put back at the front), through the
// wrap-arounds, growths and shrinks an array never had.

type Operation = 'pushBack' | 'pushFront' | 'takeFront';

/**
 * Runs the operations on the queue and on an array (the model); returns what each took. Each put
 * item is a new number, so that any item out of place shows.
 */
function runBoth(operations: readonly Operation[]) {
  const queue = new OutboxQueue<number>();
  const model: number[] = [];
  const takenFromQueue: (number | undefined)[] = [];
  const takenFromModel: (number | undefined)[] = [];
  operations.forEach((operation, item) => {
    if (operation === 'pushBack') {
      queue.pushBack(item);
      model.push(item);
    } else if (operation === 'pushFront') {
      queue.pushFront(item);
      model.unshift(item);
    } else {
      takenFromQueue.push(queue.takeFront());
      takenFromModel.push(model.shift());
    }
  });
  return { queue, model, takenFromQueue, takenFromModel };
}

function drain(queue: OutboxQueue<number>): number[] {
  const items: number[] = [];
  for (let item = queue.takeFront(); item !== undefined; item = queue.takeFront()) items.push(item);
  return items;
}

/** Operations weighted towards puts (the queue grows) or towards takes (it shrinks). */
function operationsArb(weights: { put: number; take: number }): fc.Arbitrary<Operation[]> {
  const operation: fc.Arbitrary<Operation> = fc.oneof(
    { arbitrary: fc.constant('pushBack' as const), weight: weights.put },
    { arbitrary: fc.constant('pushFront' as const), weight: weights.put },
    { arbitrary: fc.constant('takeFront' as const), weight: weights.take },
  );
  // Long enough runs that the buffer wraps and grows past its first size several times.
  return fc.array(operation, { maxLength: OUTBOX_QUEUE_SLOTS_MIN * 12, size: 'max' });
}

t.test('any mix of operations gives what an array with push/unshift/shift gives', async (t) => {
  // A growing phase then a shrinking one: wrap-arounds, growths and shrinks, puts among them.
  const runs = fc
    .tuple(operationsArb({ put: 2, take: 1 }), operationsArb({ put: 1, take: 4 }))
    .map(([growing, shrinking]) => [...growing, ...shrinking]);
  fc.assert(
    fc.property(runs, (operations) => {
      const { queue, model, takenFromQueue, takenFromModel } = runBoth(operations);
      return (
        queue.length === model.length &&
        JSON.stringify(takenFromQueue) === JSON.stringify(takenFromModel) &&
        JSON.stringify(drain(queue)) === JSON.stringify(model)
      );
    }),
  );
  t.pass('the queue matched the array model');
});

t.test('a large backlog comes out in order, and failed items go back first', async (t) => {
  const BACKLOG = 100_000;
  const queue = new OutboxQueue<number>();
  for (let lsn = 1; lsn <= BACKLOG; lsn += 1) queue.pushBack(lsn);
  t.equal(queue.length, BACKLOG);
  const first = [queue.takeFront(), queue.takeFront(), queue.takeFront()];
  t.same(first, [1, 2, 3], 'taken in the order pushed');
  // Sends of 1 then 3 fail: each goes back at the front, the later failure first (as unshift).
  queue.pushFront(1);
  queue.pushFront(3);
  const rest = drain(queue);
  t.same(rest.slice(0, 3), [3, 1, 4], 'the re-queued ones first, then the untaken ones');
  t.equal(rest.length, BACKLOG - 1, 'every item once, 2 was sent');
  t.ok(
    rest.slice(2).every((lsn, i) => lsn === i + 4),
    'the untaken ones in LSN order',
  );
  t.equal(queue.length, 0);
  t.equal(queue.takeFront(), undefined, 'an empty queue gives undefined');
  queue.pushFront(7);
  t.same(drain(queue), [7], 'a drained (shrunk) queue works again');
});
