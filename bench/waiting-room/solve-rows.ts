import { performance } from 'node:perf_hooks';
import type { Challenge } from 'altcha-lib';
import { type AuditRow, rowOf } from '../../scripts/audit/audit-rows.js';
import { joinQueue, solvedPayload } from '../../scripts/burst/waiting-room.js';
import { requestJson } from '../../scripts/client/http-json.js';
import { quantile } from '../../scripts/client/latency-stats.js';
import { TokenPool } from '../../scripts/client/token-pool.js';
import type { BenchRow } from '../table.js';
import { createRoomSale } from './room-sales.js';
import { BENCH_JWT_SECRET, type RoomStack } from './room-stack.js';

// Row (b): what the proof of work really costs a customer at the gateway's default POW_COST and
// POW_ATTEMPTS_MAX: challenges from the gateway left at its defaults, each solved with
// altcha-lib's solver (the widget's work) one after another in this process, timed; the baseline
// is the same with the cheap challenges the lobby row's customers solve. Every solution is then
// sent to join, so a solve that the gateway would refuse can't pass for a fast one.

const SOLVE_SALE = 'wr-solve';
const NEVER_MS = 3_600_000;
const ACCEPTED_CHECK = 'solutions at the default cost are accepted';

interface Solves {
  readonly ms: Float64Array;
  readonly refused: string[];
}

async function solveAll(url: string, tokens: TokenPool, from: number, count: number) {
  const solves: Solves = { ms: new Float64Array(count), refused: [] };
  for (let i = 0; i < count; i += 1) {
    const token = tokens.token(from + i);
    const reply = await requestJson(`${url}/v1/sales/${SOLVE_SALE}/queue/challenge`, { token });
    if (reply.status !== 200) throw new Error(`no challenge: ${reply.status}`);
    const started = performance.now();
    const payload = await solvedPayload(reply.body as Challenge);
    solves.ms[i] = performance.now() - started;
    const joined = await joinQueue(url, token, SOLVE_SALE, payload);
    if (joined.status !== 202)
      solves.refused.push(
        `${tokens.customerId(from + i)}: ${joined.status} ${JSON.stringify(joined.body)}`,
      );
  }
  solves.ms.sort();
  return solves;
}

export async function solveRows(
  stack: RoomStack,
  count: number,
): Promise<{ rows: BenchRow[]; audit: AuditRow[] }> {
  const url = stack.joinUrls[0] as string;
  await createRoomSale(stack.allUrls, stack.adminToken, SOLVE_SALE, {
    drawAt: Date.now() + NEVER_MS,
    admitPerSecond: 1,
  });
  const tokens = new TokenPool(BENCH_JWT_SECRET, 2 * count, `s-${process.pid.toString(36)}-`);
  console.log(`solving ${count} challenges at the default cost, and ${count} cheap ones…`);
  const cheap = await solveAll(url, tokens, 0, count);
  const real = await solveAll(stack.followUrl, tokens, count, count);
  const row = (q: number, label: string): BenchRow => ({
    name: `(b) solve at the default POW_COST, ${label} of ${count}`,
    value: quantile(real.ms, q),
    unit: 'ms',
    ratio: quantile(real.ms, q) / quantile(cheap.ms, q),
    baseline: `the cheap challenge of row (a), ${label} ${quantile(cheap.ms, q).toFixed(2)} ms`,
  });
  return {
    rows: [
      row(0.5, 'median'),
      { ...row(0.9, 'p90'), note: `max ${real.ms.at(-1)?.toFixed(0)} ms` },
    ],
    audit: [rowOf(ACCEPTED_CHECK, 2 * count, [...cheap.refused, ...real.refused])],
  };
}
