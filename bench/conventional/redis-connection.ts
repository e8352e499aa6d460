import { createClient } from 'redis';

// node-redis (the `redis` package, Redis's own client): one connection per process, whose
// commands are pipelined automatically when several are issued in the same tick.

export const REDIS_URL_DEFAULT = 'redis://127.0.0.1:6379';
const CONNECT_TIMEOUT_MS = 3_000;
/** Keys deleted per UNLINK when a run cleans up after itself. */
const CLEANUP_BATCH_KEYS = 500;

/** The longest pause between two reconnection attempts of a long-lived connection. */
const RECONNECT_DELAY_MS_MAX = 1_000;
const RECONNECT_DELAY_MS_STEP = 50;

const newClient = (url: string, reconnect: boolean) =>
  createClient({
    url,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: reconnect
        ? (retries: number) => Math.min(retries * RECONNECT_DELAY_MS_STEP, RECONNECT_DELAY_MS_MAX)
        : false,
    },
  });

export type RedisConnection = ReturnType<typeof newClient>;

export function benchRedisUrl(): string {
  return process.env.BENCH_REDIS_URL ?? REDIS_URL_DEFAULT;
}

/**
 * Connects. A server's connection (`reconnect`) comes back by itself after Redis restarts; a
 * tool's fails at once instead, so an unreachable Redis is reported rather than waited for.
 */
export async function connectRedis(url: string, reconnect = false): Promise<RedisConnection> {
  const client = newClient(url, reconnect);
  // An 'error' event without a listener would crash the process; the failing command rejects too.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Removes every key that starts with `prefix:` (a run's own keys), without blocking Redis. */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  const client = await connectRedis(url);
  let deleted = 0;
  try {
    let batch: string[] = [];
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1_000 })) {
      batch.push(...keys);
      if (batch.length >= CLEANUP_BATCH_KEYS) {
        deleted += await client.unlink(batch);
        batch = [];
      }
    }
    if (batch.length > 0) deleted += await client.unlink(batch);
  } finally {
    client.destroy();
  }
  return deleted;
}

/** Why Redis can't be used here, or null when it answers. */
export async function redisUnreachable(url = benchRedisUrl()): Promise<string | null> {
  try {
    const client = await connectRedis(url);
    await client.ping();
    client.destroy();
    return null;
  } catch (error) {
    return `Redis at ${url}: ${(error as Error).message}`;
  }
}
