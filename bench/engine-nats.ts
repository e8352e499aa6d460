import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { encodeMessage, saleCommandSubject } from '../engine/protocol/index.js';
import { EngineClient } from '../scripts/client/engine-client.js';
import { EngineProcess } from '../scripts/stack/engine-process.js';
import { NatsServerProcess } from '../scripts/stack/nats-server.js';
import { type BenchRow, printTable } from './table.js';

// `npm run bench:engine-nats`: durable order commands/s through NATS request-reply (fsync before
// every reply), at 1, 64 and 1,024 concurrent requesters, next to a bare request-reply echo served
// by another process on the same server, measured in the same run.

const CONCURRENCY_LEVELS = [1, 64, 1_024] as const;
const RUN_MS = 3_000;
const ECHO_SUBJECT = 'bench.echo';

interface Load {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function load(
  concurrency: number,
  send: (worker: number, n: number) => Promise<void>,
): Promise<Load> {
  const latencies: number[] = [];
  const deadline = performance.now() + RUN_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let n = 0; performance.now() < deadline; n += 1) {
        const t0 = performance.now();
        await send(worker, n);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { perSecond: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function echoResponder(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  nc.subscribe(ECHO_SUBJECT, {
    callback: (_e, msg) => {
      msg.respond(msg.data);
    },
  });
  process.send?.('ready');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-engine-nats-'));
  const nats = await NatsServerProcess.start({ storeDir: join(dir, 'js') });
  const { fork } = await import('node:child_process');
  const echo = fork(fileURLToPath(import.meta.url), ['--echo', nats.url]);
  await new Promise((resolve) => echo.once('message', resolve));
  const engine = await EngineProcess.start({
    natsUrl: nats.url,
    walDir: join(dir, 'wal'),
    sales: ['bench'],
    env: { MAILBOX_COMMANDS_MAX: '65536' },
  });
  const nc: NatsConnection = await connect({ servers: nats.url });
  try {
    await new EngineClient(nc).configureSale('bench', {
      stock: 1_000_000_000,
      perCustomerLimit: 2,
    });
    const payload = encodeMessage({ type: 'PlaceOrder', customerId: 'x', quantity: 1 });
    const rows: BenchRow[] = [];
    for (const concurrency of CONCURRENCY_LEVELS) {
      const bare = await load(concurrency, async () => {
        await nc.request(ECHO_SUBJECT, payload, { timeout: 30_000 });
      });
      const orders = await load(concurrency, async (worker, n) => {
        const body = encodeMessage({
          type: 'PlaceOrder',
          customerId: `c${concurrency}-${worker}-${n}`,
          quantity: 1,
        });
        const reply = await nc.request(saleCommandSubject('bench'), body, { timeout: 30_000 });
        if (!reply.json<{ ok: boolean }>().ok) throw new Error(`order refused: ${reply.string()}`);
      });
      rows.push(
        {
          name: `echo, ${concurrency} concurrent`,
          value: bare.perSecond,
          unit: 'req/s',
          note: `p50 ${bare.p50Ms.toFixed(2)} ms, p99 ${bare.p99Ms.toFixed(2)} ms`,
        },
        {
          name: `durable orders, ${concurrency} concurrent`,
          value: orders.perSecond,
          unit: 'orders/s',
          baseline: 'bare echo',
          ratio: orders.perSecond / bare.perSecond,
          note: `p50 ${orders.p50Ms.toFixed(2)} ms, p99 ${orders.p99Ms.toFixed(2)} ms`,
        },
      );
    }
    printTable(
      'bench:engine-nats — order commands over NATS request-reply, fsync before every reply',
      rows,
    );
  } finally {
    await nc.close();
    await engine.kill('SIGTERM');
    echo.kill();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--echo') await echoResponder(process.argv[3]!);
else await main();
