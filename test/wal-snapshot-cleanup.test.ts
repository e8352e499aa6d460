import { existsSync } from 'node:fs';
import { lstat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { collect, openLogged, payloadOf, snapshotNames } from './fixtures/wal-kit.js';

// A snapshot write that fails must not leave its temp file behind: on a full disk the partial
// file would keep the space the next WAL append needs, and nothing would ever reuse its name.

/** A device whose every write fails with ENOSPC: a full disk, without filling one. */
const FULL_DISK = '/dev/full';
const RECORDS = 10;

/** Spelled out rather than imported: the test pins the name the format gives a temp file. */
const snapshotTempName = (lsn: number): string => `snap-${String(lsn).padStart(20, '0')}.snap.tmp`;

t.test(
  'a snapshot that runs out of space leaves no temp file; the log goes on',
  { skip: existsSync(FULL_DISK) ? false : `${FULL_DISK} is needed to fake a full disk` },
  async (t) => {
    const dir = t.testdir();
    const { wal } = await openLogged(dir);
    for (let id = 1; id <= RECORDS; id += 1) await wal.append([payloadOf(id)]);
    // The temp file's name leads to the full device: the snapshot's writes get a real ENOSPC.
    const temp = join(dir, snapshotTempName(RECORDS));
    await symlink(FULL_DISK, temp);

    await t.rejects(wal.writeSnapshot(RECORDS, [Buffer.from('state')]), { code: 'ENOSPC' });
    await t.rejects(lstat(temp), { code: 'ENOENT' }, 'the temp file was removed');
    t.same(await snapshotNames(dir), [], 'no snapshot and no temp file left');

    t.equal(await wal.append([payloadOf(RECORDS + 1)]), RECORDS + 1, 'appends still work');
    await wal.writeSnapshot(RECORDS + 1, [Buffer.from('later state')]);
    await wal.close();

    const reopened = await openLogged(dir);
    t.equal(reopened.snapshot?.lsn, RECORDS + 1, 'a later snapshot is written and read back');
    t.same(reopened.snapshot?.payload, Buffer.from('later state'));
    t.same(collect(reopened.records), [], 'the snapshot covers every record');
    await reopened.wal.close();
  },
);
