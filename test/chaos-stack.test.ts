import t from 'tap';
import { runTool } from './helpers/tool-run.js';

// `npm run chaos` in a short form, as a user runs it: compiled, as a child process with its own
// whole stack (NATS, engine, two gateways, shipping agent, flaky fake carrier). Five rounds are
// one shuffled cycle of victims, so each process is SIGKILLed once mid-burst and restarted; the
// audit must pass: exit 0, every row of its table without a breach.

const ROUNDS = 5;
/** Rows of the audit table: one per check (scripts/chaos/stack-audit.ts). */
const AUDIT_CHECKS = 11;

const runChaos = (args: readonly string[]) => runTool('chaos', args);

t.test('npm run chaos: each process killed once mid-burst, the audit passes', async (t) => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const run = await runChaos([
    ...['--rounds', String(ROUNDS), '--seed', String(seed)],
    ...['--customers', '30', '--stock', '50', '--cap', '3', '--settle-ms', '30000'],
  ]);
  const output = `seed ${seed}; stdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-4000)}`;
  t.equal(run.exit, 0, `exit code 0; ${output}`);
  t.match(
    run.stdout,
    /SIGKILLs: engine ×1, gateway-a ×1, gateway-b ×1, agent ×1, nats ×1/,
    'every process of the stack was killed once',
  );
  const rounds = run.stdout.match(/^round \d+\/\d+: killed \S+ after \d+\/\d+ answers/gm) ?? [];
  t.equal(rounds.length, ROUNDS, 'a line per round');
  const rows = [...run.stdout.matchAll(/^\| ([^|]+?) +\| ([\d,]+) +\| ([\d,]+) +\|$/gm)];
  t.equal(rows.length, AUDIT_CHECKS, `the audit table has a row per check; ${output}`);
  for (const [, check, checked, breaches] of rows)
    t.equal(breaches, '0', `${check?.trim()}: no breach (${checked} checked)`);
  const acknowledged = rows.find(([, check]) => check?.startsWith('acknowledged orders exist'));
  t.ok(
    Number(acknowledged?.[2]?.replaceAll(',', '')) > 0,
    'orders were acknowledged and read back',
  );
  t.match(run.stdout, /^AUDIT PASSED: no breach$/m);
});
