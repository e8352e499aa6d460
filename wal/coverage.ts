// After recovery: do the segments hold every record the chosen snapshot doesn't cover?
import { WalCorruptError } from './errors.js';
import type { RecoveredSegment } from './recover.js';

export function checkCoverage(
  segments: readonly RecoveredSegment[],
  snapshotLsn: number,
  dir: string,
): void {
  const first = segments[0];
  const last = segments.at(-1);
  if (first === undefined || last === undefined) {
    // We never delete the segment being written, so a snapshot without segments means lost files.
    if (snapshotLsn > 0) {
      throw new WalCorruptError(
        dir,
        0,
        `a snapshot covers LSN ${snapshotLsn} but no WAL segment is left`,
      );
    }
    return;
  }
  if (first.firstLsn > snapshotLsn + 1) {
    throw new WalCorruptError(
      first.path,
      0,
      `records ${snapshotLsn + 1}..${first.firstLsn - 1} are missing: the snapshot covers up to LSN ${snapshotLsn} but the oldest segment starts at LSN ${first.firstLsn}`,
    );
  }
  const lastLsn = last.firstLsn + last.records - 1;
  if (lastLsn < snapshotLsn) {
    throw new WalCorruptError(
      last.path,
      last.end,
      `the log ends at LSN ${lastLsn} but the snapshot covers up to LSN ${snapshotLsn} (records lost)`,
    );
  }
}
