import { connect, type NatsConnection } from '@nats-io/transport-node';

// The chaos run's own NATS connection (for the audit's reads), which lives through the run's NATS
// kills. A request sent while the client is disconnected is not delivered after the reconnect
// (it times out), so readers first wait for the connection to be back: `connected()` resolves at
// once when it is up, else at the next reconnect.

/** Short, like the services', so the audit is not left waiting on the client's own backoff. */
const RECONNECT_WAIT_MS = 100;

export interface ChaosNats {
  readonly nc: NatsConnection;
  connected(): Promise<void>;
}

export async function connectChaosNats(url: string | string[]): Promise<ChaosNats> {
  const nc = await connect({
    servers: url,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
  });
  let up = true;
  let waiters: (() => void)[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') up = false;
      else if (status.type === 'reconnect') {
        up = true;
        for (const resolve of waiters) resolve();
        waiters = [];
      }
    }
  })();
  return {
    nc,
    connected: () =>
      up
        ? Promise.resolve()
        : new Promise((resolve) => {
            waiters.push(resolve);
          }),
  };
}
