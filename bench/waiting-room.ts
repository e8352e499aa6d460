import { loadavg } from 'node:os';
import { auditProblemLines, formatAuditTable } from '../scripts/audit/audit-report.js';
import type { AuditRow } from '../scripts/audit/audit-rows.js';
import { passed, rowOf } from '../scripts/audit/audit-rows.js';
import { oneLine } from '../scripts/cli/command-line.js';
import type { BenchRow } from './table.js';
import { printTable } from './table.js';
import { followRows } from './waiting-room/follow-rows.js';
import { lobbyRows } from './waiting-room/lobby-rows.js';
import { readWaitingRoomBenchOptions } from './waiting-room/options.js';
import { startRoomStack } from './waiting-room/room-stack.js';
import { solveRows } from './waiting-room/solve-rows.js';

// `npm run bench:waiting-room`: issue 19's goals for the waiting room, through real processes (a
// nats-server, an engine, three gateways; waiting-room/room-stack.ts). (b) the real proof of
// work's cost per solve; (a) N customers join the lobby through the gateways, are drawn and
// admitted, and the I9 audit re-runs the draw from the published seed and matches every
// admission; (c) the rate of that admission against admitPerSecond; (d) a gateway's CPU for
// K live sockets following a queue as it grows. Every row has a baseline from the same run.
// Exits 1 if an audit row fails.

async function main(): Promise<void> {
  const options = readWaitingRoomBenchOptions();
  const loadAtStart = loadavg()[0] as number;
  const stack = await startRoomStack([]);
  const interrupted = (): void => {
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const rows: BenchRow[] = [];
  const audit: AuditRow[] = [];
  try {
    for (const [name, part] of [
      ['(b) solves', () => solveRows(stack, options.solves)],
      ['(a) and (c) lobby and admission', () => lobbyRows(stack, options)],
      ['(d) live sockets', () => followRows(stack, options)],
    ] as const) {
      // A part that fails is reported as such, and the others' rows are still printed.
      const outcome = await part().catch((error: unknown) => {
        console.error(error);
        return { rows: [], audit: [rowOf(`${name} ran to its end`, 1, [oneLine(error)])] };
      });
      rows.push(...outcome.rows);
      audit.push(...outcome.audit);
    }
  } finally {
    await stack.stop();
  }
  printTable('bench:waiting-room — issue 19 goals', rows);
  console.log(`\n${formatAuditTable(audit)}`);
  for (const line of auditProblemLines(audit)) console.log(line);
  console.log(passed(audit) ? '\nAUDIT passed' : '\nAUDIT FAILED');
  // Other work shares this machine's two cores: the run says how busy it was.
  console.log(
    `\nLoad average (1 min) at the start: ${loadAtStart.toFixed(2)}, at the end: ${(loadavg()[0] as number).toFixed(2)}`,
  );
  if (!passed(audit)) process.exitCode = 1;
}

await main();
