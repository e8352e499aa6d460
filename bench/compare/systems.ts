import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineProcess } from '../../scripts/stack/engine-process.js';
import { NatsServerProcess } from '../../scripts/stack/nats-server.js';
import { startQuietGateway } from '../../scripts/stack/quiet-gateway.js';
import { ConventionalProcess } from '../conventional/conventional-process.js';
import { benchRedisUrl, deleteKeysWithPrefix } from '../conventional/redis-connection.js';
import { createScratchDatabase, type ScratchDatabase } from '../conventional/scratch-database.js';
import { LOAD_GENERATOR, type ProcessGroup, pidsWhere, processGroup } from './cpu-usage.js';

// The two systems under test, each behind one HTTP process on this machine:
//   ours: a private nats-server -js, one engine (WAL in a temporary directory), one gateway
//         logging warnings only (see quiet-gateway.ts);
//   conventional: its server over a scratch PostgreSQL database and a private Redis key prefix.
// `stop` takes everything down and removes the directory, the database and the keys.

/**
 * Our gateway's defences would answer part of the load with fast refusals that are not the path
 * being compared: the per-customer rate limit (a bench customer sends hundreds of orders a
 * second), load shedding on event-loop lag, and the cap on requests in flight to the engine.
 */
const GATEWAY_BENCH_ENV = {
  RATE_LIMIT_MAX: '1000000',
  EVENT_LOOP_DELAY_MS_MAX: '60000',
  ENGINE_INFLIGHT_MAX: '1000000',
};

export interface SystemUnderTest {
  readonly name: 'ours' | 'conventional';
  readonly url: string;
  /** Its processes, by role, for the CPU accounting (the load generator included). */
  readonly processes: readonly ProcessGroup[];
}

const isPostgresBackground = (line: string): boolean =>
  /^postgres: .*(walwriter|checkpointer|background writer)/.test(line);

export interface Systems {
  readonly ours: SystemUnderTest;
  readonly conventional: SystemUnderTest;
  stop(): Promise<void>;
}

/** Each start step registers how to undo it; they are undone in reverse order. */
type Cleanups = (() => Promise<unknown>)[];

export async function startSystems(jwtSecret: string, sales: readonly string[]): Promise<Systems> {
  const cleanups: Cleanups = [];
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    })();
    return stopped;
  };
  try {
    const ours = await startOurs(jwtSecret, sales, cleanups);
    const conventional = await startConventional(jwtSecret, cleanups);
    return { ours, conventional, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startOurs(
  jwtSecret: string,
  sales: readonly string[],
  cleanups: Cleanups,
): Promise<SystemUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-compare-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const nats = await NatsServerProcess.start({ storeDir: join(dir, 'nats') });
  cleanups.push(() => nats.stop());
  const engine = await EngineProcess.start({ natsUrl: nats.url, walDir: join(dir, 'wal'), sales });
  cleanups.push(() => engine.kill('SIGTERM'));
  const gateway = await startQuietGateway({
    natsUrl: nats.url,
    jwtSecret,
    env: GATEWAY_BENCH_ENV,
  });
  cleanups.push(() => gateway.process.kill('SIGTERM'));
  return {
    name: 'ours',
    url: gateway.url,
    processes: [
      processGroup('gateway', gateway.process),
      processGroup('engine', engine),
      processGroup('nats-server', nats),
      LOAD_GENERATOR,
    ],
  };
}

async function startConventional(jwtSecret: string, cleanups: Cleanups): Promise<SystemUnderTest> {
  const database: ScratchDatabase = await createScratchDatabase();
  cleanups.push(() => database.drop());
  const redisUrl = benchRedisUrl();
  const redisKeyPrefix = database.name;
  cleanups.push(() => deleteKeysWithPrefix(redisUrl, redisKeyPrefix));
  const conventional = await ConventionalProcess.start({
    jwtSecret,
    databaseUrl: database.url,
    redisUrl,
    redisKeyPrefix,
  });
  cleanups.push(() => conventional.kill('SIGTERM'));
  return {
    name: 'conventional',
    url: conventional.url,
    processes: [
      processGroup('conventional server', conventional),
      // A backend's title names its database, which is this run's own.
      {
        name: 'PostgreSQL backends',
        server: true,
        pids: () =>
          pidsWhere((line) => line.startsWith('postgres:') && line.includes(database.name)),
      },
      // Shared with anything else using this server, like Redis below.
      {
        name: 'PostgreSQL WAL writer etc.',
        server: true,
        pids: () => pidsWhere(isPostgresBackground),
      },
      {
        name: 'redis-server',
        server: true,
        pids: () => pidsWhere((l) => l.startsWith('redis-server')),
      },
      LOAD_GENERATOR,
    ],
  };
}
