// I3 under kill -9: a child appends from many concurrent clients and prints each record only after
// its append resolved; we SIGKILL it at a random moment, then recover. Every acknowledged record
// must be there with its LSN and payload, and nothing may appear that the child never wrote.
import t, { type Test } from 'tap';
import { seededRandom } from '../scripts/client/seeded-random.js';
import {
  applyCrashRecord,
  type CrashRecordId,
  type CrashState,
  crashPayload,
} from './fixtures/wal-crash-model.js';
import { openLogged, spawnFixture, watchChild } from './fixtures/wal-kit.js';

const ROUNDS = 24;
const CLIENTS = 32;
const ACKS_BEFORE_KILL_MAX = 600;
const SNAPSHOT_EVERY_CALLS = 40;
/** Small segments, so that rolls and pruning happen while the child is being killed. */
const SEGMENT_BYTES_CHOICES = [2048, 8192, 65536];

interface Ack extends CrashRecordId {
  readonly lsn: number;
}

function parseAck(line: string): Ack | null {
  const match = /^ack (\d+) (\d+) (\d+) (\d+)$/.exec(line);
  if (match === null) return null;
  const [lsn, round, client, seq] = match.slice(1).map(Number) as [number, number, number, number];
  return { lsn, round, client, seq };
}

/** Runs one child until it has printed `killAfter` acks (0: as soon as it has opened), then kills it. */
async function crashRound(dir: string, round: number, killAfter: number, segmentBytes: number) {
  const acks: Ack[] = [];
  const child = spawnFixture('wal-appender.ts', [
    dir,
    `${round}`,
    `${CLIENTS}`,
    `${segmentBytes}`,
    `${SNAPSHOT_EVERY_CALLS}`,
  ]);
  const watch = watchChild(child, (line) => {
    if (killAfter === 0 && line.startsWith('opened')) child.kill('SIGKILL');
    const ack = parseAck(line);
    if (ack === null) return;
    acks.push(ack);
    if (acks.length === killAfter) child.kill('SIGKILL');
  });
  const exit = await watch.exited;
  return { acks, exit, stderr: watch.stderr() };
}

/** Recovers the log and checks it against every ack printed so far. */
async function verify(t: Test, dir: string, acked: ReadonlyMap<number, Ack>): Promise<void> {
  const { wal, snapshot, records } = await openLogged(dir);
  const state: CrashState = snapshot === null ? {} : JSON.parse(snapshot.payload.toString('utf8'));
  const snapshotLsn = snapshot?.lsn ?? 0;
  const seen = new Map<number, CrashRecordId>();
  // applyCrashRecord throws on a payload the child never wrote or a gap in a client's sequence.
  for (const record of records) seen.set(record.lsn, applyCrashRecord(state, record.payload));
  let missing = 0;
  for (const ack of acked.values()) {
    const found = ack.lsn > snapshotLsn ? seen.get(ack.lsn) : null;
    const covered =
      ack.lsn <= snapshotLsn && (state[`${ack.round}:${ack.client}`] ?? -1) >= ack.seq;
    const same =
      found !== null && found !== undefined && crashPayload(found).equals(crashPayload(ack));
    if (!covered && !same) missing++;
  }
  t.equal(
    missing,
    0,
    `all ${acked.size} acknowledged records recovered (snapshot at ${snapshotLsn})`,
  );
  t.ok(wal.lastLsn >= Math.max(0, ...acked.keys()), 'the log reaches the last ack');
  await wal.close();
}

t.test('kill -9 at random moments loses no acknowledged record and invents none', async (t) => {
  const seed = Number(process.env.WAL_CRASH_SEED ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (rerun with WAL_CRASH_SEED=${seed})`);
  const random = seededRandom(seed);
  const dir = t.testdir();
  const acked = new Map<number, Ack>();
  let killedMidAppend = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const killAfter = random() < 0.15 ? 0 : 1 + Math.floor(random() * ACKS_BEFORE_KILL_MAX);
    const segmentBytes =
      SEGMENT_BYTES_CHOICES[Math.floor(random() * SEGMENT_BYTES_CHOICES.length)]!;
    const { acks, exit, stderr } = await crashRound(dir, round, killAfter, segmentBytes);
    if (exit.signal !== 'SIGKILL')
      t.fail(`round ${round}: child exited on its own (${exit.code}): ${stderr}`);
    for (const ack of acks) {
      const previous = acked.get(ack.lsn);
      if (previous !== undefined) t.fail(`LSN ${ack.lsn} acknowledged twice`);
      acked.set(ack.lsn, ack);
    }
    if (acks.length > killAfter) killedMidAppend++;
    await verify(t, dir, acked);
  }
  t.ok(acked.size > ROUNDS, `${acked.size} acks over ${ROUNDS} rounds`);
  t.comment(`${killedMidAppend} rounds printed acks after the kill was sent (appends in flight)`);
});
