import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { SALE_CATALOGUE_BUCKET } from '../../engine/protocol/catalogue.js';
import { SALE_LOG_STREAM } from '../../engine/shell/sale-log.js';

// Who did the loaded sale's work on the rehearsal, read after its row, for the CPU profile: the
// engine the catalogue placed the sale on (the others follow its log as warm standbys) and the
// nats-server leading SALE_LOG (every replicated append goes through the leader, which sends it
// on to the two followers).

/** A few requests on an idle cluster: a slow answer means something else is wrong. */
const NATS_TIMEOUT_MS = 5_000;

export interface ClusterRoles {
  /** machine-<n>, or null if the catalogue can't be read. */
  readonly owner: string | null;
  /** n1…n3, or null. */
  readonly saleLogLeader: string | null;
}

export async function clusterRoles(
  natsUrls: readonly string[],
  saleId: string,
): Promise<ClusterRoles> {
  const nc = await connect({ servers: [...natsUrls], timeout: NATS_TIMEOUT_MS });
  try {
    const catalogue = await new Kvm(nc).open(SALE_CATALOGUE_BUCKET);
    const entry = await catalogue.get(saleId).catch(() => null);
    const owner =
      entry === null || entry.operation !== 'PUT'
        ? null
        : entry.json<{ engineId: string }>().engineId;
    const jsm = await jetstreamManager(nc, { timeout: NATS_TIMEOUT_MS });
    const info = await jsm.streams.info(SALE_LOG_STREAM).catch(() => null);
    return { owner, saleLogLeader: info?.cluster?.leader ?? null };
  } finally {
    await nc.close();
  }
}
