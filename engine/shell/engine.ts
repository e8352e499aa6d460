import type { Server } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { serveMetrics } from '../../service-kit/metrics-server.js';
import { drainOrClose } from '../../service-kit/nats-close.js';
import { connectNats } from '../../service-kit/nats-connect.js';
import { openWal } from '../../wal/index.js';
import { rejection } from '../core/errors.js';
import { type EngineState, orderCount } from '../core/types.js';
import { encodeMessage } from '../protocol/messages.js';
import { ordersStatusSubject } from '../protocol/subjects.js';
import { AckedPublisher } from './acked-publisher.js';
import { type ActorLog, EngineActor, type SnapshotPolicy, stockOf } from './actor.js';
import { SaleCatalogue } from './catalogue.js';
import { startClusterOn } from './cluster-engine.js';
import type { EngineConfig } from './config.js';
import { EngineHealth } from './health.js';
import { SaleLeases } from './lease.js';
import { EngineMetrics } from './metrics.js';
import { NatsService } from './nats-service.js';
import { OUTBOX_PUBLISH_TIMEOUT_MS, Outbox } from './outbox.js';
import { PlacedSales, type ServingParts } from './placed-sales.js';
import { EnginePool } from './pool.js';
import { encodeSnapshot, recoverState, SnapshotTooLargeError } from './recovery.js';
import { SaleHomes } from './sale-homes.js';
import { StockPublisher } from './stock-publisher.js';
import { ensureOrdersStream } from './streams.js';
import { walIdentity } from './wal-identity.js';
import { WatermarkFile } from './watermark-file.js';

// Wires the engine together: NATS, leases, WAL recovery, the actor, the outbox and the
// publishers; and takes it apart again in the right order.

/** How long a graceful stop waits for the outbox to hand its backlog to JetStream. */
export const SHUTDOWN_OUTBOX_WAIT_MS = 2_000;

export interface RunningEngine {
  /** Resolves with the exit code the process should use once the engine stopped for good. */
  readonly stopped: Promise<number>;
  /** Where its `GET /metrics` and `GET /health` answer. */
  readonly metricsPort: number;
  stop(): Promise<void>;
}

export class StandbyAbortedError extends Error {}

/** `signal` aborts a start that is still standing by for a lease (SIGTERM during standby). */
export async function startEngine(
  config: EngineConfig,
  logger: Logger,
  signal: AbortSignal = new AbortController().signal,
): Promise<RunningEngine> {
  // Bound first: a taken port is a configuration error, found before any lease is taken.
  // A cluster engine serves what it takes (cluster-sales.ts): none is promised at start.
  const health = new EngineHealth(config.saleLogReplicated ? [] : config.sales);
  const metrics = new EngineMetrics(() => health.report());
  const metricsServer = await serveMetrics(
    metrics.registry,
    config.metricsPort,
    config.metricsHost,
    {
      // 200 only while it serves every sale it was given; 503 with the state it is in otherwise
      // (standby included: alive, but serving nothing). `/health/live`: the process answers.
      '/health': () => ({ status: health.isHealthy() ? 200 : 503, body: health.report() }),
      '/health/live': () => ({ status: 200, body: { state: health.phase } }),
    },
  );
  logger.info({ port: metricsServer.port }, 'metrics at GET /metrics');
  try {
    const nc = await connectNats({
      natsUrl: config.natsUrl,
      name: `engine ${config.engineId}`,
      logger,
    });
    try {
      const start = config.saleLogReplicated ? startClusterOn : startOn;
      const running = await start(nc, {
        config,
        logger,
        signal,
        metrics,
        health,
        metricsServer: metricsServer.server,
      });
      return { ...running, metricsPort: metricsServer.port };
    } catch (error) {
      await nc.close();
      throw error;
    }
  } catch (error) {
    metricsServer.server.close();
    throw error;
  }
}

export interface StartContext {
  readonly config: EngineConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly metrics: EngineMetrics;
  readonly health: EngineHealth;
  readonly metricsServer: Server;
}

/**
 * With every lease held: claims the sales' homes, opens the WAL and recovers the state. On a
 * failure the leases are freed, so a standby takes over at once rather than after the TTL.
 */
async function claimAndRecover(context: {
  readonly config: EngineConfig;
  readonly logger: Logger;
  readonly leases: SaleLeases;
  readonly homes: SaleHomes;
  readonly watermarkFile: WatermarkFile;
}) {
  const { config, logger, leases, homes, watermarkFile } = context;
  let opened: Awaited<ReturnType<typeof openWal>> | null = null;
  try {
    // Recovered before the homes are claimed: an adoption needs to know whether this WAL already
    // holds the sale (sale-homes.ts refuses to adopt a sale back onto its old state). The homes
    // are checked again then: the first check may have passed before another engine's first
    // start made a sale its own.
    opened = await openWal({ dir: config.walDir, logger: logger.child({ component: 'wal' }) });
    const watermark = await watermarkFile.read(logger);
    const recovered = recoverState(opened.snapshot, opened.records, watermark);
    await leases.reaffirmAll();
    const heldHere = (saleId: string) => recovered.state.sales.has(saleId);
    // Every refusal before any home moves: one refused sale must not leave another adopted.
    await homes.check(config.sales, heldHere);
    for (const saleId of config.sales) {
      if (!leases.isValid(saleId))
        throw new Error(`the lease of sale ${saleId} lapsed before its home was claimed`);
      await homes.claim(saleId, heldHere(saleId));
    }
    return { ...opened, watermark, recovered };
  } catch (error) {
    await opened?.wal.close().catch(() => undefined);
    await leases.releaseAll();
    throw error;
  }
}

/** The ORDERS stream, this WAL's identity, and every sale's lease (standing by until free). */
async function takeLeases(nc: NatsConnection, context: StartContext) {
  const { config, logger, signal, health } = context;
  const { replicas } = config;
  const jsm = await jetstreamManager(nc);
  await ensureOrdersStream(jsm, config.ordersDuplicateWindowMs, logger, replicas);
  const walId = await walIdentity(config.walDir);
  const leases = await SaleLeases.open(
    nc,
    config.leaseTtlMs,
    { engineId: config.engineId, walId },
    logger,
    replicas,
  );
  const homes = await SaleHomes.open(
    nc,
    { walId, walDir: config.walDir, engineId: config.engineId },
    config.salesToAdopt,
    logger,
    replicas,
  );
  // Found before standing by: a standby on the wrong WAL fails at deployment, not at failover.
  await homes.check(config.sales);
  health.enter('standby');
  await leases.acquireAll(config.sales, signal);
  health.enter('recovering');
  if (signal.aborted) {
    await leases.releaseAll();
    throw new StandbyAbortedError('stopped while standing by for a sale lease');
  }
  return { leases, homes, walId };
}

type Recovered = Awaited<ReturnType<typeof claimAndRecover>>;

/** What leaves the engine after a durable batch: the outbox to ORDERS and the stock updates. */
export function startPublishers(
  nc: NatsConnection,
  { config, logger }: StartContext,
  { recovered, watermark }: Pick<Recovered, 'recovered' | 'watermark'>,
  watermarkFile: WatermarkFile,
) {
  const publisher = new AckedPublisher(nc, OUTBOX_PUBLISH_TIMEOUT_MS);
  const outbox = new Outbox({
    publish: (message) => publisher.publish(message),
    logger: logger.child({ component: 'outbox' }),
    watermarkFile,
    watermark,
    backlogMax: config.outboxBacklogMax,
  });
  outbox.enqueue(recovered.outbox);
  const { state } = recovered;
  const stock = new StockPublisher(
    nc,
    config.sales
      .filter((saleId) => state.sales.has(saleId))
      .map((saleId) => stockOf(state, saleId)),
    config.stockPublishIntervalMs,
  );
  return { publisher, outbox, stock };
}

export type Publishers = ReturnType<typeof startPublishers>;

/** Snapshots are best effort: a failure is logged, and one too large turns them off for good. */
function snapshotOptions(config: EngineConfig, logger: Logger, outbox: Outbox): SnapshotPolicy {
  let tooLarge: SnapshotTooLargeError | null = null;
  return {
    everyRecords: config.snapshotEveryRecords,
    pendingOutbox: () => outbox.pendingMessages(),
    encode: async (cursor, pending, between) => {
      // Off once the state is too large: trying again would serialise ~512 MiB for nothing
      // every interval, for ever.
      if (tooLarge !== null) throw tooLarge;
      try {
        return await encodeSnapshot(cursor, pending, config.snapshotStepOrders, between);
      } catch (error) {
        if (error instanceof SnapshotTooLargeError) {
          tooLarge = error;
          logger.error(
            { err: error },
            'snapshots are off until the engine restarts: the state is too large for one; the ' +
              'log keeps growing and recovery replays all of it (spread the sales over engines)',
          );
        }
        throw error;
      }
    },
    onError: (error) =>
      logger.error({ err: error }, 'snapshot failed; the log still holds everything'),
    onWritten: (lsn) => logger.info({ lsn }, 'snapshot written'),
  };
}

/** The single writer: decides, appends to the WAL, and hands what is durable to the publishers. */
export function createActor(
  nc: NatsConnection,
  context: StartContext,
  parts: {
    log: ActorLog;
    state: EngineState;
    recoveredLsn: number;
    firstOrderSequenceOf?: (saleId: string) => number;
    /** A cluster's: which sales are served here, and what to do with those the log lost. */
    serves?: (saleId: string) => boolean;
    salesLost?: (sales: ReadonlyMap<string, string>) => void;
  },
  { outbox, stock }: Publishers,
  onFatal: () => void,
): EngineActor {
  const { config, logger } = context;
  return new EngineActor({
    state: parts.state,
    log: parts.log,
    clock: Date.now,
    mailboxCommandsMax: config.mailboxCommandsMax,
    recoveredLsn: parts.recoveredLsn,
    ...(parts.firstOrderSequenceOf && { firstOrderSequenceOf: parts.firstOrderSequenceOf }),
    ...(parts.serves && { serves: parts.serves }),
    effects: {
      confirmed: (messages) => outbox.enqueue(messages),
      statusChanged: (message) =>
        nc.publish(ordersStatusSubject(message.saleId), encodeMessage(message)),
      stockChanged: (message) => stock.update(message),
      refusal: () =>
        outbox.isFull
          ? rejection(
              'OVERLOADED',
              'The order backlog to the shipping stream is full; retry later.',
            )
          : null,
      ...(parts.salesLost && { salesLost: parts.salesLost }),
    },
    snapshots: snapshotOptions(config, logger, outbox),
    onFatal: (error) => {
      // The WAL failed: nothing after this point may be acknowledged. Recovery will sort it out.
      logger.fatal({ err: error }, 'WAL append failed; stopping without answering');
      onFatal();
    },
  });
}

export function observe(
  metrics: EngineMetrics,
  actor: EngineActor,
  { outbox }: Publishers,
  wal: Recovered['wal'],
  leases: SaleLeases,
): void {
  metrics.observe({
    mailboxCommands: () => actor.queued,
    outboxBacklog: () => outbox.backlog,
    outboxPublished: () => outbox.stats.published,
    outboxPublishFailures: () => outbox.stats.publishFailures,
    outboxWatermarkLsn: () => outbox.watermark,
    walLastLsn: () => wal.lastLsn,
    walDurableLsn: () => wal.durableLsn,
    walFlushes: () => wal.stats.flushes,
    salesLeased: () => leases.validCount,
  });
}

/**
 * Records the pinned sales in the catalogue and, in a pool, joins it: this engine then takes part
 * in placing new sales and takes up those placed on its WAL (before this start too). Returns how
 * to leave, first thing on the way down, so no new sale is placed on a stopping engine.
 */
async function joinPool(
  nc: NatsConnection,
  { config, logger, health }: StartContext,
  { walId, serving }: { walId: string; serving: ServingParts },
): Promise<{ leave(): Promise<void> }> {
  const catalogue = await SaleCatalogue.open(nc, logger, config.replicas);
  const us = { walId, engineId: config.engineId };
  await catalogue.recordPinned(config.sales, { ...us, pinned: true, at: Date.now() });
  if (!config.pool) return { leave: async () => undefined };
  const placed = new PlacedSales(config.sales, serving, health, config.leaseTtlMs, logger);
  const pool = await EnginePool.open(nc, {
    us,
    salesMax: config.salesMax,
    catalogue,
    logger,
    replicas: config.replicas,
  });
  // Those placed before this start are served before the engine says it serves.
  await Promise.all((await catalogue.placedOn(walId)).map((saleId) => placed.take(saleId)));
  await pool.join(() => placed.count);
  const stopFollowing = await catalogue.follow(walId, (saleId) => void placed.take(saleId));
  return {
    async leave() {
      stopFollowing();
      await pool.leave();
    },
  };
}

/** The way down, in order: no new requests, the mailbox answered, the outbox handed over. */
export async function shutdown(
  nc: NatsConnection,
  { logger, health, metricsServer }: StartContext,
  parts: { service: NatsService; actor: EngineActor; wal: Recovered['wal']; leases: SaleLeases },
  { publisher, outbox, stock }: Publishers,
): Promise<void> {
  const { service, actor, wal, leases } = parts;
  health.enter('stopping');
  await service.stop();
  await actor.close();
  stock.close();
  let giveUp: NodeJS.Timeout | undefined;
  await Promise.race([
    outbox.whenIdle(),
    new Promise((resolve) => {
      giveUp = setTimeout(resolve, SHUTDOWN_OUTBOX_WAIT_MS);
    }),
  ]);
  clearTimeout(giveUp);
  await outbox.close();
  publisher.close();
  await wal.close();
  await leases.releaseAll();
  await drainOrClose(nc, logger);
  metricsServer.close();
  logger.info({ lsn: wal.lastLsn, backlog: outbox.backlog }, 'engine stopped');
}

function logRecovery(logger: Logger, { wal, snapshot, recovered }: Recovered): void {
  logger.info(
    {
      lsn: wal.lastLsn,
      snapshotLsn: snapshot?.lsn ?? 0,
      replayed: recovered.records,
      outbox: recovered.outbox.length,
    },
    'recovered state from the WAL',
  );
}

async function startOn(
  nc: NatsConnection,
  context: StartContext,
): Promise<Omit<RunningEngine, 'metricsPort'>> {
  const { config, logger, metrics, health } = context;
  const { leases, homes, walId } = await takeLeases(nc, context);
  const watermarkFile = new WatermarkFile(config.walDir);
  const recovered = await claimAndRecover({ config, logger, leases, homes, watermarkFile });
  const { wal } = recovered;
  logRecovery(logger, recovered);
  const publishers = startPublishers(nc, context, recovered, watermarkFile);
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });
  const actor = createActor(
    nc,
    context,
    {
      log: wal,
      state: recovered.recovered.state,
      recoveredLsn: wal.lastLsn,
      firstOrderSequenceOf: (saleId) => homes.firstOrderSequence(saleId),
    },
    publishers,
    () => resolveStopped(2),
  );
  observe(metrics, actor, publishers, wal, leases);
  const isLeased = (saleId: string) => leases.isValid(saleId);
  const service = new NatsService(nc, actor, isLeased, metrics, config.queueTickMs);
  for (const saleId of config.sales) service.serve(saleId);
  const pool = await joinPool(nc, context, {
    walId,
    serving: { leases, homes, service, stock: publishers.stock, state: recovered.recovered.state },
  });

  let stopping: Promise<void> | null = null;
  let exitCode = 0;
  const stop = (): Promise<void> => {
    stopping ??= pool
      .leave()
      .then(() => shutdown(nc, context, { service, actor, wal, leases }, publishers))
      .then(
        () => resolveStopped(exitCode),
        (error: unknown) => {
          logger.error({ err: error }, 'engine did not stop cleanly');
          resolveStopped(1);
        },
      );
    return stopping;
  };
  leases.startRenewing(
    () => {
      exitCode = 1;
      void stop();
    },
    (saleId) => homes.resume(saleId),
  );
  // "Serving" means routable: the server must have our subscriptions before we say so.
  await nc.flush();
  nc.closed().then((error) => {
    if (error) logger.error({ err: error }, 'NATS connection closed');
  });
  health.serve((saleId) => leases.isValid(saleId));
  logger.info(
    { sales: config.sales, orders: orderCount(recovered.recovered.state) },
    'engine serving',
  );
  return { stopped, stop };
}
