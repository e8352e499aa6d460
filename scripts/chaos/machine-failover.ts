import { setTimeout as delay } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { LEASE_BUCKET } from '../../engine/protocol/index.js';
import { errorCodeOf, requestJson } from '../client/http-json.js';
import { mintToken } from '../client/tokens.js';
import type { OrderView } from './retrying-client.js';

// The failover's measure, from the client's side: from the kill, one more customer asks for one
// unit every PROBE_INTERVAL_MS through the gateways in turn (one Idempotency-Key, as a client
// retrying), and the first 201 (or 200: an earlier attempt of the probe was taken, its answer lost)
// ends it. Every attempt is sent after the kill, so the engine killed cannot have served it. And
// from the engines' side: when the sale's lease was taken by another process (polled).

/** Between the probe's attempts: the failover's resolution. */
const PROBE_INTERVAL_MS = 100;
/** Each attempt: a gateway answers 503 within its engine timeout (2 s) when no engine does. */
const PROBE_HTTP_TIMEOUT_MS = 5_000;
/** Past this the round's failover counts as never: a finding in itself. */
export const FAILOVER_WAIT_MS_MAX = 60_000;
const TOKEN_TTL_S = 6 * 3_600;

export type ProbeResult =
  | {
      readonly kind: 'served';
      readonly ms: number;
      readonly order: OrderView;
      readonly status: number;
    }
  /** Decided but refused (sold out meanwhile): served by the new owner all the same. */
  | { readonly kind: 'refused'; readonly ms: number; readonly code: string }
  | { readonly kind: 'never'; readonly last: string };

export interface Probe {
  readonly customerId: string;
  readonly token: string;
  readonly key: string;
}

export function probeCustomer(saleId: string, jwtSecret: string): Probe {
  const customerId = `${saleId}-probe`;
  const token = mintToken(jwtSecret, { sub: customerId, ttlS: TOKEN_TTL_S });
  return { customerId, token, key: `${customerId}-k0` };
}

export async function probeFailover(
  probe: Probe,
  saleId: string,
  gatewayUrls: readonly string[],
  killedAt: number,
): Promise<ProbeResult> {
  let last = 'not tried';
  for (let attempt = 0; performance.now() - killedAt < FAILOVER_WAIT_MS_MAX; attempt += 1) {
    const sentAt = performance.now();
    const url = gatewayUrls[attempt % gatewayUrls.length]!;
    try {
      const reply = await requestJson(`${url}/v1/sales/${saleId}/orders`, {
        method: 'POST',
        token: probe.token,
        body: { quantity: 1 },
        headers: { 'idempotency-key': probe.key },
        timeoutMs: PROBE_HTTP_TIMEOUT_MS,
      });
      const ms = performance.now() - killedAt;
      if (reply.status === 201 || reply.status === 200)
        return { kind: 'served', ms, order: reply.body as OrderView, status: reply.status };
      const code = errorCodeOf(reply.body) ?? String(reply.status);
      if (reply.status === 409) return { kind: 'refused', ms, code };
      last = `${reply.status} ${code}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await delay(Math.max(0, PROBE_INTERVAL_MS - (performance.now() - sentAt)));
  }
  return { kind: 'never', last };
}

/** Who holds the sale's lease now (`machine-<n>`), or null. */
export async function leaseHolder(nc: NatsConnection, saleId: string): Promise<string | null> {
  const entry = await (await new Kvm(nc).open(LEASE_BUCKET)).get(saleId);
  return entry?.operation === 'PUT' ? entry.json<{ engineId: string }>().engineId : null;
}

/** Between looks at the lease after the kill: the handover's resolution. */
const LEASE_POLL_INTERVAL_MS = 100;
/** Each look: during the lease bucket's election a read waits this long, then the next is sent. */
const LEASE_READ_TIMEOUT_MS = 1_000;

/** The lease taken after the kill: when (performance.now()) and by which engine. */
export interface LeaseTaken {
  readonly at: number;
  readonly to: string;
}

/**
 * Polls the sale's lease until a process other than the one killed holds it (another engine, or
 * the lost machine's own engine back empty, which may take its sale again), or `stopped()` says
 * to give up (null). Polls, not a watch: the run's own connection may have been to the node lost,
 * and a read after its reconnect sees what a watch broken by it could miss.
 */
export async function leaseTakenAfterKill(
  nc: NatsConnection,
  saleId: string,
  killedPid: number,
  stopped: () => boolean,
): Promise<LeaseTaken | null> {
  const kv = await new Kvm(jetstream(nc, { timeout: LEASE_READ_TIMEOUT_MS })).open(LEASE_BUCKET);
  while (!stopped()) {
    const entry = await kv.get(saleId).catch(() => null);
    if (entry?.operation === 'PUT') {
      const holder = entry.json<{ engineId: string; pid: number }>();
      if (holder.pid !== killedPid) return { at: performance.now(), to: holder.engineId };
    }
    await delay(LEASE_POLL_INTERVAL_MS);
  }
  return null;
}
