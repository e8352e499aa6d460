import fc from 'fast-check';
import t from 'tap';
import { DeliverySlots } from '../shipping-agent/delivery-slots.js';

// The agent's slot accounting, in-process: what it may pull, who works, who waits for a slot and
// in which order, and the bounds that hold whatever happens.

const CONCURRENCY = 2;
const WAITERS_MAX = 2;

/** A promise's state, after the microtasks queued so far have run. */
async function resolved(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

t.test('an idle agent may pull as many as it has slots', async (t) => {
  const slots = new DeliverySlots(CONCURRENCY, WAITERS_MAX);
  t.equal(slots.room(), CONCURRENCY);
  t.ok(await resolved(slots.arrived()), 'a pulled message takes a free slot at once');
  t.equal(slots.room(), CONCURRENCY - 1);
  t.equal(slots.working, 1);
  t.equal(slots.inHand, 1);
});

t.test('a delivery waiting for the engine leaves its slot, within the bound', async (t) => {
  const slots = new DeliverySlots(CONCURRENCY, WAITERS_MAX);
  await slots.arrived();
  await slots.arrived();
  t.equal(slots.room(), 0, 'full');
  slots.engineWaitStarted();
  t.equal(slots.waitingForAnEngine, 1);
  t.equal(slots.room(), 1, 'its slot is free for another');
  slots.engineWaitStarted();
  t.equal(slots.room(), 2);
  await slots.arrived();
  await slots.arrived();
  t.equal(slots.inHand, CONCURRENCY + WAITERS_MAX);
  t.equal(slots.room(), 0, 'no more than concurrency + engine waiters in hand');
  t.throws(() => slots.arrived(), /arrived with 4 deliveries in hand/);
});

t.test('back from the engine: a slot again before any new pull, in order', async (t) => {
  const slots = new DeliverySlots(CONCURRENCY, WAITERS_MAX);
  await slots.arrived();
  await slots.arrived();
  slots.engineWaitStarted();
  slots.engineWaitStarted();
  await slots.arrived();
  await slots.arrived();
  const first = slots.engineWaitEnded();
  const second = slots.engineWaitEnded();
  t.notOk(await resolved(first), 'the slots are taken: it queues');
  t.equal(slots.room(), 0, 'nothing is pulled while someone queues');
  slots.settled();
  t.ok(await resolved(first), 'the first back gets the first slot freed');
  t.notOk(await resolved(second));
  slots.settled();
  t.ok(await resolved(second));
  t.equal(slots.working, CONCURRENCY);
});

t.test('without engine waiters a waiting delivery keeps its hold on the bound', async (t) => {
  const slots = new DeliverySlots(CONCURRENCY, 0);
  await slots.arrived();
  await slots.arrived();
  slots.engineWaitStarted();
  t.equal(slots.room(), 0, 'its slot frees no room: the agent holds its concurrency already');
  t.ok(await resolved(slots.engineWaitEnded()), 'and it has its slot back at once');
});

t.test('the puller waits for room; a settled delivery or the stop wakes it', async (t) => {
  const slots = new DeliverySlots(1, 0);
  await slots.arrived();
  const room = slots.whenRoom();
  t.throws(() => slots.whenRoom(), /waits for room already/, 'one puller');
  t.notOk(await resolved(room));
  slots.settled();
  t.ok(await resolved(room), 'a slot came free');
  const stop = slots.whenRoom();
  slots.wake();
  t.ok(await resolved(stop), 'the stop wakes it too');
});

t.test('empty: once every delivery in hand is settled', async (t) => {
  const slots = new DeliverySlots(CONCURRENCY, WAITERS_MAX);
  t.ok(await resolved(slots.empty()), 'at once when idle');
  await slots.arrived();
  await slots.arrived();
  const empty = slots.empty();
  slots.settled();
  t.notOk(await resolved(empty));
  slots.settled();
  t.ok(await resolved(empty));
});

t.test('accounting mistakes are bugs, said at once', async (t) => {
  const slots = new DeliverySlots(CONCURRENCY, WAITERS_MAX);
  t.throws(() => slots.settled(), /settled without a slot/);
  t.throws(() => slots.engineWaitEnded(), /never started/);
  t.throws(() => new DeliverySlots(0, 0), /concurrency/);
  t.throws(() => new DeliverySlots(1, -1), /engineWaitersMax/);
});

type Step = 'pull' | 'settle' | 'waitStart' | 'waitEnd';

t.test('property: within the bounds, whatever the order of events', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 3 }),
      fc.array(fc.constantFrom<Step>('pull', 'settle', 'waitStart', 'waitEnd'), {
        maxLength: 60,
      }),
      async (concurrency, waitersMax, steps) => {
        const slots = new DeliverySlots(concurrency, waitersMax);
        // Each delivery in hand, as the agent drives it: working, waiting for an engine, queued.
        const working: number[] = [];
        const waiting: number[] = [];
        const queued = new Set<number>();
        let next = 0;
        const take = (id: number, slot: Promise<void>) => {
          queued.add(id);
          void slot.then(() => {
            queued.delete(id);
            working.push(id);
          });
        };
        for (const step of steps) {
          if (step === 'pull')
            for (let n = slots.room(); n > 0; n -= 1) take(next++, slots.arrived());
          if (step === 'settle' && working.length > 0) {
            working.shift();
            slots.settled();
          }
          if (step === 'waitStart' && working.length > 0) {
            waiting.push(working.shift()!);
            slots.engineWaitStarted();
          }
          if (step === 'waitEnd' && waiting.length > 0)
            take(waiting.shift()!, slots.engineWaitEnded());
          await new Promise((resolve) => setImmediate(resolve));
          if (slots.working !== working.length) return false;
          if (working.length > concurrency) return false;
          if (slots.inHand > concurrency + waitersMax) return false;
          if (queued.size > 0 && working.length < concurrency) return false;
        }
        return true;
      },
    ),
  );
});
