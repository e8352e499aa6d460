import { setTimeout as delay } from 'node:timers/promises';
import type { JetStreamManager } from '@nats-io/jetstream';

// The NATS side of a machine loss: which streams the lost node led (their leader must be elected
// again before they take a write), and the wait until the machine's node, back with an empty
// store under the same server name, holds a current copy of every stream again. Only then can the
// next round lose another machine and keep a quorum of two.

/** Streams whose leader the failover waits for: the sale's log and the lease bucket's stream. */
export const SALE_LOG_STREAM = 'SALE_LOG';
export const LEASE_STREAM = 'KV_sale_leases';
const REPLICAS_POLL_INTERVAL_MS = 500;
/** A node rejoining with an empty store is sent every stream again (seconds here); bounded. */
export const REPLICAS_WAIT_MS_MAX = 120_000;
const CLUSTER_REPLICAS = 3;

/** The node leading each stream named, or null where none does (or it can't be read). */
export async function leadersOf(
  jsm: JetStreamManager,
  streams: readonly string[],
): Promise<Record<string, string | null>> {
  const leaders: Record<string, string | null> = {};
  for (const stream of streams) {
    const info = await jsm.streams.info(stream).catch(() => null);
    leaders[stream] = info?.cluster?.leader ?? null;
  }
  return leaders;
}

/** Streams not yet led, or with fewer than two current followers, each with why. */
async function lagging(jsm: JetStreamManager): Promise<string[]> {
  const found: string[] = [];
  for await (const name of jsm.streams.names()) {
    const info = await jsm.streams.info(name).catch(() => null);
    const replicas = info?.cluster?.replicas ?? [];
    const current = replicas.filter((r) => r.current && r.offline !== true).length;
    if (info?.cluster?.leader === undefined) found.push(`${name}: no leader`);
    else if (current < CLUSTER_REPLICAS - 1)
      found.push(`${name}: ${current + 1}/${CLUSTER_REPLICAS} current`);
  }
  return found;
}

/**
 * Polls until every stream has a leader and two current followers; answers how long it took, or
 * what still lagged at the bound.
 */
export async function replicasCurrent(
  jsm: JetStreamManager,
  since: number,
): Promise<{ readonly ms: number } | { readonly lagging: string[] }> {
  for (;;) {
    const still = await lagging(jsm).catch((error: Error) => [`streams: ${error.message}`]);
    if (still.length === 0) return { ms: performance.now() - since };
    if (performance.now() - since >= REPLICAS_WAIT_MS_MAX) return { lagging: still };
    await delay(REPLICAS_POLL_INTERVAL_MS);
  }
}

/** Between looks at a stream's leader while it is elected again. */
const LEADER_POLL_INTERVAL_MS = 200;
/** Elections take 4–9 s here; a stream still leaderless past this is a finding (the table's –). */
const ELECTION_WAIT_MS_MAX = 60_000;

/**
 * From `since` until `stream` is led again, in ms (to the poll's resolution); null past the
 * bound. Led again: by a node other than `lost`, or by any node once the stream was seen without
 * a leader — the lost node, back within a second, may win the election itself.
 */
export async function electedAfter(
  jsm: JetStreamManager,
  stream: string,
  lost: string,
  since: number,
): Promise<number | null> {
  let leaderless = false;
  while (performance.now() - since < ELECTION_WAIT_MS_MAX) {
    const leader = (await leadersOf(jsm, [stream]))[stream] ?? null;
    if (leader === null) leaderless = true;
    else if (leader !== lost || leaderless) return performance.now() - since;
    await delay(LEADER_POLL_INTERVAL_MS);
  }
  return null;
}
