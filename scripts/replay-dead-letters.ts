import { JetStreamApiCodes } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ORDERS_DEAD_LETTER_STREAM, SALE_ID_PATTERN } from '../engine/protocol/index.js';
import { isJetStreamError } from '../service-kit/jetstream-stream.js';
import { EXIT_NOT_RUN, EXIT_OK, oneLine, readCommandLine, UsageError } from './cli/command-line.js';
import { type DeadLetter, readDeadLetters, replayDeadLetters } from './client/dead-letters.js';

// `npm run replay-dead-letters -- [--sale <saleId>] [--list]`: once the carrier is healthy again,
// puts dead-lettered shipments back for delivery (or only lists them). Exit 0 when done (also
// when there is nothing to do), 2 when NATS can't be reached or refuses, 64 on a bad command line.

const NATS_URL_DEFAULT = 'nats://127.0.0.1:4222';
/** A NATS that has not answered by then is reported as down, not waited on for nats.js's 20 s. */
const NATS_CONNECT_TIMEOUT_MS = 5_000;

const USAGE = `usage: npm run replay-dead-letters -- [options]
  --list        only list the dead letters waiting, put nothing back
  --sale ID     only the dead letters of this sale
  Reads $NATS_URL (default ${NATS_URL_DEFAULT}).`;

const options = readCommandLine(
  USAGE,
  { sale: { type: 'string' }, list: { type: 'boolean' } },
  (values) => {
    if (values.sale !== undefined && !SALE_ID_PATTERN.test(values.sale))
      throw new UsageError('--sale takes 1-64 characters of [A-Za-z0-9_-]');
    return { saleId: values.sale, list: values.list === true };
  },
);

async function deadLetters(nc: NatsConnection): Promise<DeadLetter[]> {
  const matches = (letter: { saleId: string }) =>
    options.saleId === undefined || letter.saleId === options.saleId;
  return options.list
    ? (await readDeadLetters(nc)).filter(matches)
    : await replayDeadLetters(nc, matches);
}

async function main(): Promise<number> {
  const url = process.env.NATS_URL ?? NATS_URL_DEFAULT;
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, timeout: NATS_CONNECT_TIMEOUT_MS });
  } catch (error) {
    console.error(`replay-dead-letters: NATS at ${url} does not answer: ${oneLine(error)}`);
    return EXIT_NOT_RUN;
  }
  try {
    const letters = await deadLetters(nc);
    for (const letter of letters)
      console.log(
        `${options.list ? 'dead' : 'replayed'}  ${letter.orderId}  customer ${letter.customerId}  ` +
          `after ${letter.deliveries} deliveries: ${letter.reason}`,
      );
    console.log(
      `${letters.length} dead letter(s) ${options.list ? 'waiting' : 'put back for delivery'}`,
    );
    return EXIT_OK;
  } catch (error) {
    // The shipping agent creates the stream at its first start: none yet means none dead-lettered.
    if (isJetStreamError(error, JetStreamApiCodes.StreamNotFound)) {
      console.log(
        `0 dead letter(s) ${options.list ? 'waiting' : 'put back for delivery'}: no ` +
          `${ORDERS_DEAD_LETTER_STREAM} stream at ${url} (no shipping agent has run against it)`,
      );
      return EXIT_OK;
    }
    console.error(`replay-dead-letters: ${oneLine(error)}`);
    return EXIT_NOT_RUN;
  } finally {
    await nc.close();
  }
}

process.exitCode = await main();
