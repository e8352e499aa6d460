import { setTimeout as delay } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type OrderStatus,
  type OrderStatusMessage,
  ordersStatusSubject,
} from '../../engine/protocol/index.js';
import { EngineClient } from '../../scripts/client/engine-client.js';
import { AgentProcess, FAST_AGENT_ENV } from '../../scripts/stack/agent-process.js';
import { CarrierProcess } from '../../scripts/stack/carrier-process.js';
import type { EngineProcess } from '../../scripts/stack/engine-process.js';
import type { NatsServerProcess } from '../../scripts/stack/nats-server.js';
import { natsClient, startEngine, startNats, type Teardown, tempDir } from './nats.js';

// The shipping path with real parts: a private nats-server, the engine, the fake carrier (a real
// HTTP server) and shipping agent processes, with schedules shortened so a test takes seconds.

export { FAST_AGENT_ENV };

export interface ShippingStack {
  readonly nats: NatsServerProcess;
  readonly nc: NatsConnection;
  readonly engine: EngineProcess;
  /** The engine's WAL: a restarted engine on it recovers every order. */
  readonly walDir: string;
  readonly carrier: CarrierProcess;
  readonly client: EngineClient;
  startAgent(env?: Readonly<Record<string, string>>): Promise<AgentProcess>;
}

export async function startShippingStack(
  t: Teardown,
  options: { sales: readonly string[]; carrierEnv?: Readonly<Record<string, string>> },
): Promise<ShippingStack> {
  const nats = await startNats(t);
  const nc = await natsClient(t, nats.url);
  const walDir = await tempDir(t, 'wal');
  const engine = await startEngine(t, { natsUrl: nats.url, walDir, sales: options.sales });
  const carrier = await CarrierProcess.start({ env: { CARRIER_PORT: '0', ...options.carrierEnv } });
  t.teardown(() => carrier.kill());
  return {
    nats,
    nc,
    engine,
    walDir,
    carrier,
    client: new EngineClient(nc),
    async startAgent(env = {}) {
      const agent = await AgentProcess.start({
        natsUrl: nats.url,
        carrierUrl: carrier.url,
        env: { ...FAST_AGENT_ENV, ...env },
      });
      t.teardown(() => agent.kill());
      return agent;
    },
  };
}

/** Every status change of a sale, per order, as customers see them (`orders.status.<id>`). */
export function followStatuses(nc: NatsConnection, saleId: string) {
  const byOrder = new Map<string, OrderStatus[]>();
  const waiters = new Set<{
    done: () => boolean;
    failed: () => string | undefined;
    resolve: () => void;
    reject: (error: Error) => void;
  }>();
  nc.subscribe(ordersStatusSubject(saleId), {
    callback: (_e, msg) => {
      for (const change of msg.json<OrderStatusMessage>().changes) {
        const seen = byOrder.get(change.orderId) ?? [];
        seen.push(change.status);
        byOrder.set(change.orderId, seen);
      }
      for (const waiter of waiters) {
        const failed = waiter.failed();
        if (failed !== undefined) {
          waiters.delete(waiter);
          waiter.reject(new Error(`${failed} ended SHIPPING_FAILED`));
        } else if (waiter.done()) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    },
  });
  return {
    byOrder,
    /**
     * Resolves once `orderIds` have all reached `status`; rejects at once if one of them fails
     * instead (while waiting for another status), so a test fails fast rather than timing out.
     */
    until(orderIds: readonly string[], status: OrderStatus): Promise<void> {
      const done = () => orderIds.every((id) => byOrder.get(id)?.includes(status) ?? false);
      const failed = () =>
        status === 'SHIPPING_FAILED'
          ? undefined
          : orderIds.find((id) => byOrder.get(id)?.at(-1) === 'SHIPPING_FAILED');
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.add({ done, failed, resolve, reject }));
    },
  };
}

/** Between two reads of the engine's state by `untilRecorded`. */
const RECORDED_POLL_INTERVAL_MS = 100;

/**
 * Resolves once the engine holds `status` in the history of every order of `orderIds`. For tests
 * that kill the engine while shipping reports are in flight, where the notices can't be awaited:
 * a change made durable just before the kill may never have been announced (the notice is a core
 * publish after the fsync), and the agent's retry of that report changes nothing, so announces
 * nothing. The state can only be read, hence the polling.
 */
export async function untilRecorded(
  client: EngineClient,
  saleId: string,
  orderIds: readonly string[],
  status: OrderStatus,
): Promise<void> {
  const recorded = async (orderId: string) => {
    const reply = await client.query(saleId, { type: 'GetOrder', orderId });
    return (
      reply.ok && reply.kind === 'order' && reply.order.history.some((h) => h.status === status)
    );
  };
  while (!(await Promise.all(orderIds.map(recorded))).every(Boolean))
    await delay(RECORDED_POLL_INTERVAL_MS);
}

/** Places `count` orders of one unit from distinct customers; returns their ids. */
export async function placeOrders(
  client: EngineClient,
  saleId: string,
  count: number,
  prefix = 'c',
): Promise<string[]> {
  const replies = await Promise.all(
    Array.from({ length: count }, (_, i) => client.placeOrder(saleId, `${prefix}${i}`)),
  );
  return replies.map((reply) => {
    if (!reply.ok || reply.kind !== 'order')
      throw new Error(`order refused: ${JSON.stringify(reply)}`);
    return reply.order.orderId;
  });
}
