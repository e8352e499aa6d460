import { jetstreamManager } from '@nats-io/jetstream';
import t from 'tap';
import { AckedPublisher } from '../engine/shell/acked-publisher.js';
import { natsClient, startNats } from './helpers/nats.js';

// The outbox's publisher against a real nats-server: an ack only once the stream stored the
// message, de-duplication by msgId, and every way it can fail — no stream, the wrong stream, no
// server — turned into a rejection the outbox retries.

const STREAM = 'ACKS';
const encoder = new TextEncoder();
const publishOf = (n: number, stream = STREAM) => ({
  subject: 'acks.one',
  data: encoder.encode(JSON.stringify({ n })),
  msgId: `m-${n}`,
  stream,
});

t.test(
  'acknowledged once stored, de-duplicated by msgId, refused without its stream',
  async (t) => {
    const nats = await startNats(t);
    const nc = await natsClient(t, nats.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ['acks.*'] });
    const publisher = new AckedPublisher(nc, 5_000);
    t.teardown(() => publisher.close());

    const count = 1_000;
    await Promise.all(Array.from({ length: count }, (_, n) => publisher.publish(publishOf(n))));
    t.equal((await jsm.streams.info(STREAM)).state.messages, count, 'every acked message stored');

    await Promise.all(Array.from({ length: 10 }, (_, n) => publisher.publish(publishOf(n))));
    t.equal((await jsm.streams.info(STREAM)).state.messages, count, 'a msgId is stored once');

    await t.rejects(
      publisher.publish({ ...publishOf(1), subject: 'nobody.listens' }),
      /503/,
      'no stream on the subject: no responders',
    );
    await t.rejects(
      publisher.publish(publishOf(count + 1, 'OTHER')),
      /expected stream/i,
      'the subject belongs to another stream',
    );
    t.equal((await jsm.streams.info(STREAM)).state.messages, count, 'refused ones not stored');
  },
);

t.test(
  'no server: the publish is refused after its timeout, and works once it is back',
  async (t) => {
    const nats = await startNats(t);
    const nc = await natsClient(t, nats.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ['acks.*'] });
    const timeoutMs = 500;
    const publisher = new AckedPublisher(nc, timeoutMs);
    t.teardown(() => publisher.close());

    await nats.kill();
    await t.rejects(publisher.publish(publishOf(1)), /did not acknowledge within 500 ms/);
    await nats.restart();
    // The client reconnects by itself; the outbox would retry until this succeeds.
    let stored = false;
    while (!stored)
      stored = await publisher.publish(publishOf(2)).then(
        () => true,
        () => false,
      );
    t.ok(stored, 'published after the restart');
    t.ok((await jsm.streams.info(STREAM)).state.messages >= 1);
  },
);

t.test('close refuses what still waits', async (t) => {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: ['acks.*'] });
  const publisher = new AckedPublisher(nc, 60_000);
  await nats.kill();
  const waiting = publisher.publish(publishOf(1));
  publisher.close();
  await t.rejects(waiting, /publisher closed/);
});
