import type { NatsConnection } from '@nats-io/transport-node';
import { addUnits } from '../audit/reading.js';
import { whenAborted } from '../cli/when-aborted.js';
import { EngineClient } from '../client/engine-client.js';
import {
  type Acked,
  auditOrdersStream,
  auditSale,
  CHAOS_LIMIT_UNITS,
  CHAOS_STOCK_UNITS,
  type SaleRecord,
} from './engine-audit.js';
import { burstAndKill, buyAfterRecovery } from './engine-bursts.js';
import { EngineSeries } from './engine-series.js';

// Engine chaos: bursts of orders over NATS while the engine is SIGKILLed at a random moment, then
// restarted on the same WAL. Right after each restart it reads back what the engine holds for the
// sale and audits it (engine-audit.ts): the counters against the orders themselves and the
// units acknowledged, not only against each other (I1, I2), every acknowledged order there (I3).
// Then a second burst goes to the recovered sale: a recovery that under-counted would sell past
// the stock or a cap, which the audit after it sees. At the end ORDERS holds every order exactly
// once (I4). Breaches are collected, not thrown, so a run reports all of them.

/**
 * The kill moment is drawn from a window after the burst starts, at first this long (a whole
 * burst is decided and synced within a few milliseconds on a quiet machine). A round with nothing
 * acknowledged doubles it, one whose kill came after the last reply halves it: on a
 * loaded machine a fixed 40 ms fell before the first reply in all ten rounds of a run.
 */
const KILL_WINDOW_MS_FIRST = 40;
const KILL_WINDOW_MS_MIN = 10;

export interface EngineChaosOptions {
  readonly nc: NatsConnection;
  readonly natsUrl: string;
  readonly walDir: string;
  readonly rounds: number;
  readonly customersPerRound: number;
  readonly random?: () => number;
  readonly log?: (line: string) => void;
  /** Aborting kills the engine and rejects the run (Ctrl-C of `npm run chaos:engine`). */
  readonly signal?: AbortSignal;
}

export interface EngineChaosReport {
  readonly rounds: number;
  readonly requests: number;
  /** Orders acknowledged in all, in the killed bursts and after recovery. */
  readonly acknowledged: number;
  /** Of those, acknowledged by an engine that was then SIGKILLed. */
  readonly acknowledgedBeforeKill: number;
  /** Of those, acknowledged by a restarted engine, to a sale it had recovered. */
  readonly acknowledgedAfterRecovery: number;
  readonly orders: number;
  readonly breaches: string[];
}

/** A round's sale as the run fills it in: the burst's, then what came after the recovery. */
interface RunningRecord extends SaleRecord {
  readonly customers: Set<string>;
  readonly acked: Acked[];
  readonly unknownUnits: Map<string, number>;
}

const saleOfRound = (round: number): string => `chaos-r${round}`;

export async function runEngineChaos(options: EngineChaosOptions): Promise<EngineChaosReport> {
  const sales = Array.from({ length: options.rounds }, (_, r) => saleOfRound(r));
  const engines = new EngineSeries(
    {
      natsUrl: options.natsUrl,
      walDir: options.walDir,
      sales,
      // Snapshots every few hundred records, written in many small steps while orders go on,
      // so crashes also land around and inside snapshots.
      env: { SNAPSHOT_EVERY_RECORDS: '150', SNAPSHOT_STEP_ORDERS: '7' },
    },
    options.signal,
  );
  const stop = whenAborted(options.signal, 'engine chaos aborted');
  try {
    // After an abort the rounds may go on a little, but they meet stopped engines and the
    // series refuses to start another one.
    return await Promise.race([runRounds(options, engines), stop.aborted]);
  } finally {
    stop.dispose();
    await engines.stopAll(options.signal?.aborted ? 'SIGKILL' : 'SIGTERM');
  }
}

async function runRounds(
  options: EngineChaosOptions,
  engines: EngineSeries,
): Promise<EngineChaosReport> {
  const { nc, rounds, random = Math.random, log = () => undefined } = options;
  const client = new EngineClient(nc);
  const breaches: string[] = [];
  const records = new Map<string, RunningRecord>();
  let requests = 0;
  let acknowledgedBeforeKill = 0;
  let acknowledgedAfterRecovery = 0;
  let killWindowMs = KILL_WINDOW_MS_FIRST;
  let engine = await engines.start();
  for (let round = 0; round < rounds; round += 1) {
    const saleId = saleOfRound(round);
    const found = (list: readonly string[]) => list.map((b) => `round ${round}: ${b}`);
    const configured = await client.configureSale(saleId, {
      stock: CHAOS_STOCK_UNITS,
      perCustomerLimit: CHAOS_LIMIT_UNITS,
    });
    if (!configured.ok)
      breaches.push(...found([`could not configure: ${JSON.stringify(configured)}`]));
    const burst = await burstAndKill(client, engine, saleId, {
      customerCount: options.customersPerRound,
      killAfterMs: random() * killWindowMs,
      random,
    });
    if (burst.acked.length === 0) killWindowMs *= 2;
    else if (burst.killAfterMs > burst.lastReplyMs)
      killWindowMs = Math.max(KILL_WINDOW_MS_MIN, killWindowMs / 2);
    const record: RunningRecord = {
      customers: burst.customers,
      acked: [...burst.acked],
      unknownUnits: burst.unknownUnits,
    };
    records.set(saleId, record);
    engine = await engines.start();
    // What the restarted engine recovered, before anything new changes it.
    breaches.push(...found(await auditSale(client, saleId, record, { soldOut: false })));
    const after = await buyAfterRecovery(client, saleId, burst.customers);
    breaches.push(...found(after.unanswered));
    for (const customerId of after.customers) record.customers.add(customerId);
    record.acked.push(...after.acked);
    for (const [customerId, units] of after.unknownUnits)
      addUnits(record.unknownUnits, customerId, units);
    // Every sale so far: a later crash must not have damaged an earlier sale's recovery.
    breaches.push(...found(await auditAll(client, records)));
    requests += burst.requests + after.requests;
    acknowledgedBeforeKill += burst.acked.length;
    acknowledgedAfterRecovery += after.acked.length;
    log(
      `round ${round + 1}/${rounds}: ${burst.acked.length} acknowledged, SIGKILL at ` +
        `${burst.killAfterMs.toFixed(1)} ms of a ${burst.burstMs.toFixed(1)} ms burst; ` +
        `${after.acked.length} acknowledged after recovery`,
    );
  }
  const stream = await auditOrdersStream(nc, client, records);
  breaches.push(...stream.breaches);
  return {
    rounds,
    requests,
    acknowledged: acknowledgedBeforeKill + acknowledgedAfterRecovery,
    acknowledgedBeforeKill,
    acknowledgedAfterRecovery,
    orders: stream.orders,
    breaches,
  };
}

/** Every acknowledged order of every sale reads back as acknowledged, and each sale adds up. */
async function auditAll(client: EngineClient, records: ReadonlyMap<string, SaleRecord>) {
  const breaches: string[] = [];
  // Every recorded sale has had its burst after recovery, which sells a correct engine out.
  for (const [saleId, record] of records)
    breaches.push(...(await auditSale(client, saleId, record, { soldOut: true, readBack: true })));
  return breaches;
}
