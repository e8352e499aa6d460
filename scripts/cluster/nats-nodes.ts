import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type JetStreamManager, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsServerProcess } from '../stack/nats-server.js';
import { messageOf, StartError } from '../stack/start-errors.js';
import type { ClusterPlan, MachinePlan } from './plan.js';
import { CLUSTER_NAME } from './plan.js';

// The rehearsal's three NATS nodes: one nats-server per machine, clustered over loopback routes,
// JetStream on, each with its store in its machine's directory. A node that has started accepts
// clients before the cluster can serve JetStream: its nodes must first find each other and elect
// a metadata leader, and on a restart every stream already there must elect its own leader again
// (ten seconds or so here). An engine started before that fails its first JetStream request. So
// before any engine starts, the cluster must place a stream with 3 replicas (one is created and
// deleted again) and every existing stream must answer with a leader, retried until both hold.

/**
 * From the nodes ready to JetStream serving: well under a second on a fresh store, ~10 s on a
 * restart (every stream re-elects its leader), more on a loaded machine.
 */
const JETSTREAM_READY_TIMEOUT_MS = 60_000;
const JETSTREAM_RETRY_INTERVAL_MS = 250;
/** Each try's JetStream request: a cluster still electing answers late or not at all. */
const JETSTREAM_REQUEST_TIMEOUT_MS = 2_000;
const NATS_CONNECT_TIMEOUT_MS = 2_000;
/** Created and deleted to prove the cluster places streams on every node; holds nothing. */
const PROBE_STREAM = 'REHEARSAL_PROBE';
const PROBE_SUBJECT = 'rehearsal.probe';

export function startNode(plan: ClusterPlan, machine: MachinePlan): Promise<NatsServerProcess> {
  return NatsServerProcess.start({
    port: machine.natsPort,
    storeDir: machine.natsDir,
    ownProcessGroup: true,
    logFile: join(machine.logDir, 'nats-server.log'),
    cluster: {
      serverName: machine.serverName,
      clusterName: CLUSTER_NAME,
      routePort: machine.routePort,
      routes: plan.routes,
    },
  });
}

/** A client of the whole cluster, for the rehearsal's own reads (the demo sale's placement). */
export function connectCluster(urls: readonly string[]): Promise<NatsConnection> {
  return connect({
    servers: [...urls],
    timeout: NATS_CONNECT_TIMEOUT_MS,
    maxReconnectAttempts: -1,
  });
}

async function placeProbe(jsm: JetStreamManager): Promise<void> {
  await jsm.streams.add({
    name: PROBE_STREAM,
    subjects: [PROBE_SUBJECT],
    storage: StorageType.Memory,
    num_replicas: 3,
  });
  await jsm.streams.delete(PROBE_STREAM);
}

/** Throws, naming them, while some existing streams have no leader. */
async function streamsLed(jsm: JetStreamManager): Promise<void> {
  const leaderless: string[] = [];
  for await (const name of jsm.streams.names()) {
    const info = await jsm.streams.info(name).catch(() => null);
    if (info?.cluster?.leader === undefined) leaderless.push(name);
  }
  if (leaderless.length > 0) throw new Error(`no leader yet for ${leaderless.join(', ')}`);
}

/** Resolves once JetStream serves (see above); a clear error past the bound. */
export async function waitForJetStream(nc: NatsConnection, stopping: () => boolean) {
  const deadline = Date.now() + JETSTREAM_READY_TIMEOUT_MS;
  for (;;) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: JETSTREAM_REQUEST_TIMEOUT_MS });
      await placeProbe(jsm);
      return await streamsLed(jsm);
    } catch (error) {
      if (stopping()) throw error;
      if (Date.now() >= deadline)
        throw new StartError(
          `the NATS cluster did not serve JetStream within ${JETSTREAM_READY_TIMEOUT_MS} ms ` +
            `(${messageOf(error)}): see the machines' logs/nats-server.log`,
        );
    }
    await delay(JETSTREAM_RETRY_INTERVAL_MS);
  }
}
