import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { type AuditRow, failuresOf, mergeRows } from '../audit/audit-rows.js';
import { whenAborted } from '../cli/when-aborted.js';
import { EngineClient } from '../client/engine-client.js';
import { seededRandom } from '../client/seeded-random.js';
import { mintToken } from '../client/tokens.js';
import { auditMachineRound, type MachineAuditContext, wholeBookRow } from './machine-audit.js';
import { planMachineRounds } from './machine-plan.js';
import { Rehearsal } from './machine-rehearsal.js';
import { failoverGoalMet, type MachineLossReport, machineRoundLine } from './machine-report.js';
import { type RoundContext, runMachineRound } from './machine-round.js';
import { connectChaosNats } from './nats-link.js';
import { EngineReads } from './retrying-reads.js';

// `npm run chaos -- --machine-loss`: the cluster rehearsal as a real process on free ports and a
// private directory, and round after round a burst of orders through its gateways while one
// machine (engine, nats-server, directory) is lost whole; the rehearsal brings it back empty.
// Each round is audited as it ends (machine-audit.ts). The directory is deleted after a run that
// passed and met the failover goal, kept (and named) otherwise: the machines' logs are the evidence.

/** Engine reads of the audit: the cluster is whole again by then, so a slow answer is a finding. */
const ENGINE_READ_TIMEOUT_MS = 5_000;
const JETSTREAM_TIMEOUT_MS = 5_000;
const GATEWAYS = 2;
const ADMIN_TOKEN_TTL_S = 6 * 3_600;

export interface MachineLossOptions {
  readonly rounds: number;
  readonly seed: number;
  readonly customersPerRound: number;
  readonly log?: (line: string) => void;
  /** Aborting ends the run at once: the rehearsal is stopped and the run rejects. */
  readonly signal?: AbortSignal;
}

export async function runMachineLoss(options: MachineLossOptions): Promise<MachineLossReport> {
  const log = options.log ?? (() => undefined);
  const jwtSecret = randomBytes(24).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), 'chaos-machine-loss-'));
  let passed = false;
  try {
    log(`rehearsal data and logs: ${dir}`);
    const rehearsal = await Rehearsal.start(join(dir, 'cluster'), jwtSecret);
    const stop = whenAborted(options.signal, 'machine-loss run aborted');
    try {
      const report = await Promise.race([
        runRounds(options, rehearsal, jwtSecret, join(dir, 'lost-machines-logs'), log),
        stop.aborted,
      ]);
      passed = report.breaches.length === 0 && failoverGoalMet(report);
      return report;
    } finally {
      stop.dispose();
      await rehearsal.stop();
    }
  } finally {
    if (passed) await rm(dir, { recursive: true, force: true });
    else log(`kept for the evidence: ${dir}`);
  }
}

async function runRounds(
  options: MachineLossOptions,
  rehearsal: Rehearsal,
  jwtSecret: string,
  keptLogsDir: string,
  log: (line: string) => void,
): Promise<MachineLossReport> {
  const link = await connectChaosNats(rehearsal.machines.map((m) => m.natsUrl));
  try {
    const jsm = await jetstreamManager(link.nc, { timeout: JETSTREAM_TIMEOUT_MS });
    const adminToken = mintToken(jwtSecret, {
      sub: 'chaos-ops',
      role: 'admin',
      ttlS: ADMIN_TOKEN_TTL_S,
    });
    const round: RoundContext = { rehearsal, nc: link.nc, jsm, adminToken, jwtSecret, keptLogsDir };
    const audit: MachineAuditContext = {
      link,
      jsm,
      client: new EngineReads(new EngineClient(link.nc, ENGINE_READ_TIMEOUT_MS), link),
      gatewayUrls: rehearsal.gatewayUrls,
      carrierUrl: rehearsal.carrierUrl,
      earlierShipped: new Set(),
    };
    const plans = planMachineRounds(
      {
        rounds: options.rounds,
        customersPerRound: options.customersPerRound,
        gateways: GATEWAYS,
        jwtSecret,
        salePrefix: `loss${options.seed}`,
      },
      seededRandom(options.seed),
    );
    const report: {
      rounds: MachineLossReport['rounds'][number][];
      answers: [number, number, number, number][];
      rows: AuditRow[];
    } = { rounds: [], answers: [], rows: [] };
    for (const plan of plans) {
      const result = await runMachineRound(plan, round);
      const rows = await auditMachineRound(audit, result);
      const { burst } = result;
      report.rounds.push(result.summary);
      report.answers.push([
        burst.acknowledged.length,
        burst.refused,
        burst.gaveUp.length,
        burst.retried,
      ]);
      report.rows.push(...rows);
      const breaches = failuresOf(rows).length;
      log(
        `${machineRoundLine(result.summary, plans.length)}; audit: ` +
          (breaches === 0 ? 'passed' : `${breaches} BREACHES`),
      );
    }
    const rows = mergeRows([...report.rows, await wholeBookRow(rehearsal.carrierUrl)]);
    return {
      seed: options.seed,
      rounds: report.rounds,
      answers: report.answers,
      audit: rows,
      breaches: failuresOf(rows),
    };
  } finally {
    await link.nc.close();
  }
}
