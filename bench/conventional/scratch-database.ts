import pg from 'pg';

// A PostgreSQL database of one run's own, created on the shared server and dropped afterwards,
// so parallel CI jobs and benches never meet in the same tables.

/** Where to create scratch databases: any database the user may connect to will do. */
export const ADMIN_DATABASE_URL_DEFAULT = 'postgres://postgres@127.0.0.1:5432/test';
const CONNECT_TIMEOUT_MS = 3_000;

export function adminDatabaseUrl(): string {
  return process.env.BENCH_ADMIN_DATABASE_URL ?? ADMIN_DATABASE_URL_DEFAULT;
}

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops it, closing whatever connections are left. Idempotent. */
  drop(): Promise<void>;
}

async function onAdminConnection<T>(
  adminUrl: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `flashsale_bench_<pid>_<random>`: unique per process and per call. */
export async function createScratchDatabase(
  adminUrl = adminDatabaseUrl(),
): Promise<ScratchDatabase> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const name = `flashsale_bench_${process.pid}_${suffix}`;
  await onAdminConnection(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | null = null;
  return {
    name,
    url: url.toString(),
    drop: () => {
      dropped ??= onAdminConnection(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
      return dropped;
    },
  };
}

/** Why PostgreSQL can't be used here, or null when it answers. */
export async function postgresUnreachable(adminUrl = adminDatabaseUrl()): Promise<string | null> {
  try {
    await onAdminConnection(adminUrl, (client) => client.query('SELECT 1'));
    return null;
  } catch (error) {
    return `PostgreSQL at ${adminUrl}: ${(error as Error).message}`;
  }
}
