import t from 'tap';
import { AssertionError } from '../engine/core/assert.js';
import { heldActor } from './helpers/held-actor.js';

// A pair assertion: the actor predicts each event's LSN as it decides (the outbox messages carry
// them, and the outbox watermark trusts them), and checks the LSN the log gives back. A log that
// disagrees is a bug that would publish orders under the wrong positions: the actor stops without
// answering, as for a failed fsync.

t.test('the log reports another LSN than predicted: fatal, and nothing is answered', async (t) => {
  const fatal: unknown[] = [];
  const { log, command, drained } = heldActor(t, { onFatal: (error) => fatal.push(error) });
  let answered = false;
  void command({ type: 'ConfigureSale', name: 'S', stock: 5, perCustomerLimit: 2 }).then(() => {
    answered = true;
  });
  await drained();
  t.equal(log.waiting, 1);
  log.settle(1);
  await drained();
  t.equal(fatal.length, 1, 'onFatal called once');
  t.type(fatal[0], AssertionError);
  t.match(String(fatal[0]), /the WAL gave the batch LSNs up to 2, the actor predicted 1/);
  t.notOk(answered, 'the command was not answered');
});

t.test('the control: the LSN the log reports is the predicted one', async (t) => {
  const { log, command, drained } = heldActor(t);
  const reply = command({ type: 'ConfigureSale', name: 'S', stock: 5, perCustomerLimit: 2 });
  await drained();
  log.settle();
  t.match(await reply, { ok: true, kind: 'sale' });
});
