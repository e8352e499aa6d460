import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import {
  benchRedisUrl,
  connectRedis,
  redisUnreachable,
} from '../bench/conventional/redis-connection.js';
import { adminDatabaseUrl, postgresUnreachable } from '../bench/conventional/scratch-database.js';
import { PROJECT_ROOT } from '../scripts/stack/service-process.js';

// `npm run bench:compare` in its short form, end to end: both systems start, take the burst and
// the steady load, pass the audit (the bench exits 1 if either breaks an invariant), print the
// table, and leave no scratch database or Redis key behind. The goals are not asserted: figures
// from a shared machine in the middle of a test suite say nothing; docs/benchmarks.md has the
// real runs.

const unreachable = (await postgresUnreachable()) ?? (await redisUnreachable());

t.test(
  'bench:compare --short: both systems pass the audit and the table is printed',
  { skip: unreachable === null ? false : `needs Redis and PostgreSQL: ${unreachable}` },
  async (t) => {
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'dist/bench/compare.js'), '--short'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    t.equal(code, 0, 'exits 0', { output: output.slice(-4_000) });
    t.match(output, /\| steady: accepted orders\/s +\| +[\d,]+ \| +[\d,]+ \| +[\d.]+x \|/);
    t.notMatch(output, /BROKEN/, 'no invariant broken');
    // A line per check of the one audit (I1, I2, I3) for each system in each load.
    t.equal((output.match(/^ {2}ok {4} /gm) ?? []).length, 12, 'twelve audit lines, all ok');
    // The run's database and keys are named after its pid (scratch-database.ts).
    const scratch = `flashsale_bench_${child.pid}_`;
    const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    const databases = await admin.query(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [scratch],
    );
    await admin.end();
    t.equal(databases.rowCount, 0, 'its scratch database was dropped');
    const redis = await connectRedis(benchRedisUrl());
    const keys = await redis.keys(`${scratch}*`);
    redis.destroy();
    t.strictSame(keys, [], 'its Redis keys were deleted');
  },
);
