import { fdatasync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, createInbox, headers, type Msg } from '@nats-io/transport-node';
import { ensureStream } from '../../service-kit/jetstream-stream.js';
import { FLOOR_STREAM, FLOOR_STREAM_SUBJECT, floorCommandSubject } from './subjects.js';

// The engine's side of bench:http-floor's floor. `echo` answers each request at once. `durable`
// does the least DESIGN.md asks before and after an acknowledgement: the orders of every request
// appended to a file and fdatasync'd, requests arriving meanwhile committed together in the next
// write (group commit), the reply only after that; then one JetStream message per order with its
// Nats-Msg-Id (the outbox, I4), acknowledged off the reply's path. No decision, no state, no CRC.
// Asked 'drain' over IPC, it answers 'drained' once JetStream has acknowledged every message, so
// the next row doesn't pay for this one's outbox.

const mode = process.argv[2];
if (mode !== 'echo' && mode !== 'durable') throw new Error('usage: journal-responder echo|durable');
const nc = await connect({ servers: process.env.NATS_URL });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Order {
  readonly orderId: string;
  readonly quantity: number;
  readonly status: 'CONFIRMED';
  readonly createdAt: string;
}
interface Commit {
  readonly orders: readonly Order[];
  readonly message: Msg;
}

const acks = createInbox();
// Order ids unique to this process: JetStream would drop a repeated Nats-Msg-Id as a duplicate
// (its window is 2 minutes), skipping the very store write the durable rows are to pay for.
const ORDER_ID_PREFIX = `floor-${process.pid}-${Date.now()}~`;
let published = 0;
let acknowledged = 0;
const drainWaiters: (() => void)[] = [];
/** Nothing left to commit, publish or have acknowledged. */
const isDrained = (): boolean => !committing && queued.length === 0 && acknowledged === published;
function tellIfDrained(): void {
  if (isDrained()) for (const tell of drainWaiters.splice(0)) tell();
}
if (mode === 'durable') {
  await ensureStream(await jetstreamManager(nc), {
    name: FLOOR_STREAM,
    subjects: [FLOOR_STREAM_SUBJECT],
  });
  nc.subscribe(`${acks}.*`, {
    callback: () => {
      acknowledged += 1;
      tellIfDrained();
    },
  });
}
const fd = mode === 'durable' ? openSync(join(process.env.FLOOR_DIR ?? '.', 'journal'), 'a') : -1;
let sequence = 0;
let queued: Commit[] = [];
let committing = false;

function answer({ orders, message }: Commit): void {
  message.respond(encoder.encode(JSON.stringify(orders)));
  if (mode === 'echo') return;
  for (const order of orders) {
    const header = headers();
    header.set('Nats-Msg-Id', order.orderId);
    published += 1;
    nc.publish(FLOOR_STREAM_SUBJECT, encoder.encode(JSON.stringify(order)), {
      reply: `${acks}.${order.orderId}`,
      headers: header,
    });
  }
}

function commit(): void {
  if (committing || queued.length === 0) return;
  committing = true;
  const group = queued;
  queued = [];
  const bytes = Buffer.from(group.map((entry) => JSON.stringify(entry.orders)).join('\n'));
  write(fd, bytes, 0, bytes.length, null, (writeError) => {
    if (writeError) throw writeError;
    fdatasync(fd, (syncError) => {
      if (syncError) throw syncError;
      committing = false;
      for (const entry of group) answer(entry);
      commit();
      tellIfDrained();
    });
  });
}

nc.subscribe(floorCommandSubject(mode), {
  callback: (_error, message) => {
    const quantities = JSON.parse(decoder.decode(message.data)) as number[];
    const createdAt = new Date().toISOString();
    const orders = quantities.map((quantity): Order => {
      sequence += 1;
      return { orderId: `${ORDER_ID_PREFIX}${sequence}`, quantity, status: 'CONFIRMED', createdAt };
    });
    if (mode === 'echo') return answer({ orders, message });
    queued.push({ orders, message });
    commit();
  },
});
await nc.flush();
process.on('message', (request) => {
  if (request !== 'drain') return;
  drainWaiters.push(() => process.send?.('drained'));
  tellIfDrained();
});
process.send?.('ready');
// Requests still arriving as it stops get "no responders", not a timeout.
process.on('SIGTERM', () => {
  void nc.drain().finally(() => process.exit(0));
});
