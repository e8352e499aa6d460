import { setTimeout as delay } from 'node:timers/promises';
import { type AuditRow, rowOf } from '../../scripts/audit/audit-rows.js';
import { EngineClient } from '../../scripts/client/engine-client.js';
import { runLoad } from '../../scripts/client/load-runner.js';
import { cpuBetween, readCpu } from '../compare/cpu-usage.js';
import type { BenchRow } from '../table.js';
import { LiveSockets } from './live-sockets.js';
import type { WaitingRoomBenchOptions } from './options.js';
import { QueueWatch } from './queue-watch.js';
import { createRoomSale } from './room-sales.js';
import type { RoomStack } from './room-stack.js';

// Rows (d): K live sockets on one gateway follow a sale's queue while the number waiting grows
// (1,000 → 10,000 → 100,000 by default); at each size the gateway's CPU per second over a window,
// with the ratio to the first size: the queue message is the same few bytes a few times a second
// whatever the size, so it should stay flat. The queue grows by JoinQueue commands sent straight
// to the engine over NATS (what a gateway sends once it has checked a proof of work): 100,000
// joins through HTTP would take minutes and load the gateways the rows do not measure; the
// followed gateway takes no join either way.

const FOLLOW_SALE = 'wr-follow';
/** Slow, so that the queue stays at the size grown to: one admitted a second. */
const FOLLOW_ADMIT_PER_SECOND = 1;
const FOLLOW_DRAW_IN_MS = 2_000;
/** JoinQueue commands in flight while growing the queue. */
const GROW_CONCURRENCY = 256;
const GROWN_WAIT_MS_MAX = 60_000;
const SOCKETS_CHECK = 'live sockets stay open through the sockets rows';

async function grow(stack: RoomStack, from: number, to: number, run: string): Promise<void> {
  const engine = new EngineClient(stack.nc);
  await runLoad({
    total: to - from,
    concurrency: GROW_CONCURRENCY,
    send: async (i) => {
      const id = `${run}-${from + i}`;
      const reply = await engine.command(FOLLOW_SALE, {
        type: 'JoinQueue',
        customerId: `f-${id}`,
        solutionId: `f-${id}`,
      });
      if (!reply.ok) throw new Error(`a join was refused: ${JSON.stringify(reply)}`);
    },
  });
}

interface Window {
  readonly waiting: number;
  readonly gatewayCpuMs: number;
  readonly engineCpuMs: number;
  readonly messages: number;
  readonly ms: number;
}

async function measureWindow(stack: RoomStack, sockets: LiveSockets, ms: number, waiting: number) {
  const groups = [stack.followGateway, stack.engine];
  const before = readCpu(groups);
  const received = sockets.received;
  const started = Date.now();
  // A measurement window, not a wait for an event: CPU is read at both ends of it.
  await delay(ms);
  const spent = cpuBetween(before, readCpu(groups));
  return {
    waiting,
    gatewayCpuMs: spent.byGroup.get(stack.followGateway.name) ?? 0,
    engineCpuMs: spent.byGroup.get(stack.engine.name) ?? 0,
    messages: sockets.received - received,
    ms: Date.now() - started,
  } satisfies Window;
}

export async function followRows(
  stack: RoomStack,
  options: WaitingRoomBenchOptions,
): Promise<{ rows: BenchRow[]; audit: AuditRow[] }> {
  const { sockets: count, waiting: sizes, measureMs } = options;
  await createRoomSale(stack.allUrls, stack.adminToken, FOLLOW_SALE, {
    drawAt: Date.now() + FOLLOW_DRAW_IN_MS,
    admitPerSecond: FOLLOW_ADMIT_PER_SECOND,
  });
  const watch = await QueueWatch.open(stack.joinUrls[0] as string, FOLLOW_SALE);
  const sockets = new LiveSockets();
  const windows: Window[] = [];
  try {
    console.log(`opening ${count} live sockets on one gateway…`);
    await sockets.open(
      `${stack.followUrl.replace('http', 'ws')}/v1/sales/${FOLLOW_SALE}/live`,
      count,
    );
    await watch.until(
      'the draw',
      (m) => m.state === 'ADMITTING',
      FOLLOW_DRAW_IN_MS + GROWN_WAIT_MS_MAX,
    );
    const run = process.pid.toString(36);
    let joined = 0;
    for (const size of sizes) {
      console.log(`the queue grows to ${size} waiting…`);
      const target = size + (watch.latest?.serving ?? 0);
      await grow(stack, joined, target, run);
      joined = target;
      const seen = await watch.until(
        `${size} waiting`,
        // Every join is in once the tickets handed out (served and waiting) reach them all.
        (m) => m.serving + m.waiting >= target,
        GROWN_WAIT_MS_MAX,
      );
      windows.push(await measureWindow(stack, sockets, measureMs, seen.waiting));
    }
    const open = sockets.openCount;
    return {
      rows: windowRows(windows, count, sockets.refusals),
      audit: [
        rowOf(SOCKETS_CHECK, count, open === count ? [] : [`${count - open} of ${count} closed`]),
      ],
    };
  } finally {
    sockets.close();
    watch.close();
  }
}

function windowRows(windows: readonly Window[], sockets: number, refusals: number): BenchRow[] {
  const usPerS = (w: Window) => (w.gatewayCpuMs * 1_000) / (w.ms / 1_000);
  const first = windows[0];
  const refused = `${refusals} upgrades refused (503) and tried again`;
  return windows.map((w, i) => ({
    name: `(d) ${sockets} sockets follow the queue, ${w.waiting} waiting`,
    value: usPerS(w),
    unit: 'gateway CPU µs/s',
    ratio: first === undefined ? 1 : usPerS(w) / usPerS(first),
    serverCpuUs: w.messages === 0 ? 0 : (w.gatewayCpuMs * 1_000) / w.messages,
    baseline: first === undefined ? '' : `the ${first.waiting} waiting row`,
    note: [
      `${(w.messages / sockets / (w.ms / 1_000)).toFixed(1)} messages/s a socket`,
      `engine ${Math.round((w.engineCpuMs * 1_000) / (w.ms / 1_000))} µs/s`,
      ...(i === 0 ? [refused] : []),
    ].join('; '),
  }));
}
