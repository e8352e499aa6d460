import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { openWal } from '../../wal/index.js';
import { type EngineState, initialState } from '../core/types.js';
import { ORDERS_STREAM } from '../protocol/subjects.js';
import type { AckedPublisher } from './acked-publisher.js';
import { SaleCatalogue } from './catalogue.js';
import { ClusterSales } from './cluster-sales.js';
import {
  createActor,
  observe,
  type Publishers,
  type RunningEngine,
  type StartContext,
  shutdown,
  startPublishers,
} from './engine.js';
import { SaleLeases } from './lease.js';
import { NatsService } from './nats-service.js';
import type { OutboxMessage } from './outbox.js';
import { EnginePool } from './pool.js';
import { ReplicatedLog } from './replicated-log.js';
import { ensureSaleLogStream, lastSaleLogSequence, SALE_LOG_READ_TIMEOUT_MS } from './sale-log.js';
import { SaleSnapshots } from './sale-snapshots.js';
import { ensureOrdersStream } from './streams.js';
import { walIdentity } from './wal-identity.js';
import { WatermarkFile } from './watermark-file.js';

// An engine of a cluster (SALE_LOG_REPLICATED, on by default with JETSTREAM_REPLICAS > 1): every
// sale's record is its replicated log (sale-log.ts), so the engine starts from nothing it holds
// on its own disk. Its local WAL is still fsynced before every yes (I8 asks for both) but is not
// read back for state: a WAL that survived a crash may hold a batch whose replication failed,
// which was never acknowledged and which the log, the sale's record, does not have. Sales are
// owned or followed (cluster-sales.ts); none waits for a lease at start.

const REPUBLISH_RETRY_MS = 1_000;

/** Publishes until each message is stored (ORDERS drops duplicates by orderId). */
async function republish(
  publisher: AckedPublisher,
  messages: readonly OutboxMessage[],
  logger: Logger,
): Promise<void> {
  let left = [...messages];
  while (left.length > 0) {
    const results = await Promise.allSettled(
      left.map((message) => publisher.publish({ ...message, stream: ORDERS_STREAM })),
    );
    left = left.filter((_, index) => results[index]?.status === 'rejected');
    if (left.length === 0) return;
    logger.warn({ left: left.length }, 'orders not yet republished to ORDERS; trying again');
    await new Promise((resolve) => setTimeout(resolve, REPUBLISH_RETRY_MS));
  }
}

async function openParts(nc: NatsConnection, { config, logger }: StartContext) {
  const jsm = await jetstreamManager(nc);
  await ensureOrdersStream(jsm, config.ordersDuplicateWindowMs, logger, config.replicas);
  await ensureSaleLogStream(jsm, config.replicas, logger);
  const walId = await walIdentity(config.walDir);
  const leases = await SaleLeases.open(
    nc,
    config.leaseTtlMs,
    { engineId: config.engineId, walId },
    logger,
    config.replicas,
  );
  const opened = await openWal({ dir: config.walDir, logger: logger.child({ component: 'wal' }) });
  const watermarkFile = new WatermarkFile(config.walDir);
  const watermark = await watermarkFile.read(logger);
  const quickJsm = await jetstreamManager(nc, {
    timeout: SALE_LOG_READ_TIMEOUT_MS,
    checkAPI: false,
  });
  const js = jetstream(nc);
  return { jsm, quickJsm, js, walId, leases, wal: opened.wal, watermarkFile, watermark };
}

type Parts = Awaited<ReturnType<typeof openParts>>;

/** Follows the catalogue: every sale followed, those placed here (or free) taken. */
async function joinCluster(
  nc: NatsConnection,
  { config, logger, health }: StartContext,
  parts: Parts & {
    state: EngineState;
    log: ReplicatedLog;
    service: NatsService;
    publishers: Publishers;
  },
) {
  const { walId, log, service, publishers, wal } = parts;
  const catalogue = await SaleCatalogue.open(nc, logger, config.replicas);
  const snapshots = await SaleSnapshots.open(nc, parts.jsm, config.replicas);
  const us = { walId, engineId: config.engineId };
  await catalogue.recordPinned(config.sales, { ...us, pinned: true, at: Date.now() });
  const sales = new ClusterSales({
    ...parts,
    salesMax: config.salesMax,
    log,
    snapshots,
    service,
    stock: publishers.stock,
    state: parts.state,
    health,
    republish: (messages) => void republish(publishers.publisher, messages, logger),
    lastLsn: () => wal.lastLsn,
    logger,
  });
  const pool = config.pool
    ? await EnginePool.open(nc, {
        us,
        salesMax: config.salesMax,
        catalogue,
        logger,
        replicas: config.replicas,
      })
    : null;
  await pool?.join(() => sales.count);
  const stopFollowing = await catalogue.followAll((entry) => sales.add(entry));
  sales.start();
  return {
    sales,
    async leave() {
      stopFollowing();
      sales.stop();
      await pool?.leave();
    },
  };
}

/**
 * Which sales the actor serves, and where the sales its log lost go: the cluster's sales, which
 * need the actor to exist first, so they are bound once joined.
 */
function salesHandover() {
  let sales: ClusterSales | null = null;
  return {
    bind(joined: ClusterSales) {
      sales = joined;
    },
    forActor: {
      serves: (saleId: string) => sales?.owns(saleId) ?? false,
      salesLost(lost: ReadonlyMap<string, string>) {
        for (const [saleId, why] of lost) sales?.relinquish(saleId, why);
      },
    },
  };
}

export async function startClusterOn(
  nc: NatsConnection,
  context: StartContext,
): Promise<Omit<RunningEngine, 'metricsPort'>> {
  const { logger, metrics, health } = context;
  const parts = await openParts(nc, context);
  const { leases, wal } = parts;
  const state = initialState();
  const publishers = startPublishers(
    nc,
    context,
    { recovered: { state, outbox: [], records: 0 }, watermark: parts.watermark },
    parts.watermarkFile,
  );
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });
  const log = new ReplicatedLog({ local: wal, js: parts.js, isLeased: (s) => leases.isValid(s) });
  const handover = salesHandover();
  const actor = createActor(
    nc,
    context,
    { log, state, recoveredLsn: wal.lastLsn, ...handover.forActor },
    publishers,
    () => resolveStopped(2),
  );
  observe(metrics, actor, publishers, wal, leases);
  const service = new NatsService(
    nc,
    actor,
    (saleId) => leases.isValid(saleId),
    metrics,
    context.config.queueTickMs,
  );
  const joined = await joinCluster(nc, context, { ...parts, state, log, service, publishers });
  handover.bind(joined.sales);
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= joined
      .leave()
      .then(() => shutdown(nc, context, { service, actor, wal, leases }, publishers))
      .then(
        () => resolveStopped(0),
        (error: unknown) => {
          logger.error({ err: error }, 'engine did not stop cleanly');
          resolveStopped(1);
        },
      );
    return stopping;
  };
  // A lease another engine took: this engine's state of that sale is stale, so the sale goes
  // back to being followed (the other sales carry on). One that expired and came back to us (a
  // NATS election outlasted it) is ours again if nobody appended meanwhile.
  leases.startRenewing(
    (saleId) => joined.sales.relinquish(saleId, 'its lease was lost'),
    (saleId) => log.stillEndsWithOurs(saleId, () => lastSaleLogSequence(parts.jsm, saleId)),
  );
  await nc.flush();
  health.serve((saleId) => leases.isValid(saleId));
  logger.info(
    { walId: parts.walId },
    'engine serving (cluster: each sale from its replicated log)',
  );
  return { stopped, stop };
}
