import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { readDeadLetters, replayDeadLetters } from './lib/dead-letters.js';

// `npm run replay-dead-letters -- [--sale <saleId>] [--list]`: once the carrier is healthy again,
// puts dead-lettered shipments back for delivery (or only lists them).

const { values } = parseArgs({
  options: { sale: { type: 'string' }, list: { type: 'boolean', default: false } },
});
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
try {
  const matches = (letter: { saleId: string }) =>
    values.sale === undefined || letter.saleId === values.sale;
  const letters = values.list
    ? (await readDeadLetters(nc)).filter(matches)
    : await replayDeadLetters(nc, matches);
  for (const letter of letters)
    console.log(
      `${values.list ? 'dead' : 'replayed'}  ${letter.orderId}  customer ${letter.customerId}  ` +
        `after ${letter.deliveries} deliveries: ${letter.reason}`,
    );
  console.log(
    `${letters.length} dead letter(s) ${values.list ? 'waiting' : 'put back for delivery'}`,
  );
} finally {
  await nc.close();
}
