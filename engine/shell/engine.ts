import type { Server } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { serveMetrics } from '../../service-kit/metrics-server.js';
import { drainOrClose } from '../../service-kit/nats-close.js';
import { openWal } from '../../wal/index.js';
import { rejection } from '../core/errors.js';
import { orderCount } from '../core/types.js';
import { encodeMessage } from '../protocol/messages.js';
import { ordersStatusSubject } from '../protocol/subjects.js';
import { AckedPublisher } from './acked-publisher.js';
import { EngineActor, stockOf } from './actor.js';
import type { EngineConfig } from './config.js';
import { SaleLeases } from './lease.js';
import { EngineMetrics } from './metrics.js';
import { NatsService } from './nats-service.js';
import { OUTBOX_PUBLISH_TIMEOUT_MS, Outbox } from './outbox.js';
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
export const NATS_RECONNECT_WAIT_MS = 250;

export interface RunningEngine {
  /** Resolves with the exit code the process should use once the engine stopped for good. */
  readonly stopped: Promise<number>;
  stop(): Promise<void>;
}

async function connectNats(config: EngineConfig, name: string): Promise<NatsConnection> {
  return connect({
    servers: config.natsUrl,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
    waitOnFirstConnect: true,
    // The client otherwise builds two Error objects (stack captures) per request, JetStream
    // publishes included: about a tenth of the engine's CPU under a burst, for traces we don't log.
    noAsyncTraces: true,
  });
}

export class StandbyAbortedError extends Error {}

/** `signal` aborts a start that is still standing by for a lease (SIGTERM during standby). */
export async function startEngine(
  config: EngineConfig,
  logger: Logger,
  signal: AbortSignal = new AbortController().signal,
): Promise<RunningEngine> {
  // Bound first: a taken port is a configuration error, found before any lease is taken.
  const metrics = new EngineMetrics();
  const metricsServer = await serveMetrics(
    metrics.registry,
    config.metricsPort,
    config.metricsHost,
  );
  logger.info({ port: metricsServer.port }, 'metrics at GET /metrics');
  try {
    const nc = await connectNats(config, `engine ${config.engineId}`);
    try {
      return await startOn(nc, {
        config,
        logger,
        signal,
        metrics,
        metricsServer: metricsServer.server,
      });
    } catch (error) {
      await nc.close();
      throw error;
    }
  } catch (error) {
    metricsServer.server.close();
    throw error;
  }
}

interface StartContext {
  readonly config: EngineConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly metrics: EngineMetrics;
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

async function startOn(
  nc: NatsConnection,
  { config, logger, signal, metrics, metricsServer }: StartContext,
) {
  await ensureOrdersStream(await jetstreamManager(nc), config.ordersDuplicateWindowMs, logger);
  const walId = await walIdentity(config.walDir);
  const leases = await SaleLeases.open(
    nc,
    config.leaseTtlMs,
    { engineId: config.engineId, walId },
    logger,
  );
  const homes = await SaleHomes.open(
    nc,
    { walId, walDir: config.walDir, engineId: config.engineId },
    config.salesToAdopt,
    logger,
  );
  // Found before standing by: a standby on the wrong WAL fails at deployment, not at failover.
  await homes.check(config.sales);
  await leases.acquireAll(config.sales, signal);
  if (signal.aborted) {
    await leases.releaseAll();
    throw new StandbyAbortedError('stopped while standing by for a sale lease');
  }
  const watermarkFile = new WatermarkFile(config.walDir);
  const { wal, snapshot, watermark, recovered } = await claimAndRecover({
    config,
    logger,
    leases,
    homes,
    watermarkFile,
  });
  logger.info(
    {
      lsn: wal.lastLsn,
      snapshotLsn: snapshot?.lsn ?? 0,
      replayed: recovered.records,
      outbox: recovered.outbox.length,
    },
    'recovered state from the WAL',
  );

  const { state } = recovered;
  const publisher = new AckedPublisher(nc, OUTBOX_PUBLISH_TIMEOUT_MS);
  const outbox = new Outbox({
    publish: (message) => publisher.publish(message),
    logger: logger.child({ component: 'outbox' }),
    watermarkFile,
    watermark,
    backlogMax: config.outboxBacklogMax,
  });
  outbox.enqueue(recovered.outbox);
  const stock = new StockPublisher(
    nc,
    config.sales
      .filter((saleId) => state.sales.has(saleId))
      .map((saleId) => stockOf(state, saleId)),
    config.stockPublishIntervalMs,
  );

  let stopping: Promise<void> | null = null;
  let exitCode = 0;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });

  let snapshotsTooLarge: SnapshotTooLargeError | null = null;
  const actor = new EngineActor({
    state,
    log: wal,
    clock: Date.now,
    mailboxCommandsMax: config.mailboxCommandsMax,
    recoveredLsn: wal.lastLsn,
    firstOrderSequenceOf: (saleId) => homes.firstOrderSequence(saleId),
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
    },
    snapshots: {
      everyRecords: config.snapshotEveryRecords,
      pendingOutbox: () => outbox.pendingMessages(),
      encode: async (cursor, outbox, between) => {
        // Off once the state is too large: trying again would serialise ~512 MiB for nothing
        // every interval, for ever.
        if (snapshotsTooLarge !== null) throw snapshotsTooLarge;
        try {
          return await encodeSnapshot(cursor, outbox, config.snapshotStepOrders, between);
        } catch (error) {
          if (error instanceof SnapshotTooLargeError) {
            snapshotsTooLarge = error;
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
    },
    onFatal: (error) => {
      // The WAL failed: nothing after this point may be acknowledged. Recovery will sort it out.
      logger.fatal({ err: error }, 'WAL append failed; stopping without answering');
      resolveStopped(2);
    },
  });

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

  const service = new NatsService(nc, actor, (saleId) => leases.isValid(saleId), metrics);
  for (const saleId of config.sales) service.serve(saleId);
  leases.startRenewing(
    () => {
      exitCode = 1;
      void stop();
    },
    (saleId) => homes.resume(saleId),
  );

  async function shutdown(): Promise<void> {
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

  function stop(): Promise<void> {
    stopping ??= shutdown().then(
      () => resolveStopped(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'engine did not stop cleanly');
        resolveStopped(1);
      },
    );
    return stopping;
  }

  // "Serving" means routable: the server must have our subscriptions before we say so.
  await nc.flush();
  nc.closed().then((error) => {
    if (error) logger.error({ err: error }, 'NATS connection closed');
  });
  logger.info({ sales: config.sales, orders: orderCount(state) }, 'engine serving');
  return { stopped, stop };
}
