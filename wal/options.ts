// Checks the caller's options once, at open, and fills in the defaults.
import {
  BATCH_BYTES_MAX,
  BATCH_OPTION_BYTES_MAX,
  BATCH_OPTION_RECORDS_MAX,
  BATCH_RECORDS_MAX,
  RECORD_BYTES_MAX,
  SEGMENT_BYTES_MAX,
  SEGMENT_OPTION_BYTES_MAX,
} from './limits.js';
import { COMMIT_FRAME_BYTES, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './segment-format.js';
import type { WalLogger, WalOptions } from './types.js';

export interface WalSettings {
  readonly dir: string;
  readonly logger: WalLogger;
  readonly segmentBytesMax: number;
  readonly batchBytesMax: number;
  readonly batchRecordsMax: number;
}

export function resolveOptions(options: WalOptions): WalSettings {
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new TypeError('WAL option dir must be a non-empty path');
  }
  for (const level of ['info', 'warn', 'error'] as const) {
    if (typeof options.logger?.[level] !== 'function') {
      throw new TypeError(`WAL option logger must have an ${level}() method`);
    }
  }
  return {
    dir: options.dir,
    logger: options.logger,
    // A segment must hold its header and at least one write of one small frame.
    segmentBytesMax: integerIn(
      'segmentBytesMax',
      options.segmentBytesMax ?? SEGMENT_BYTES_MAX,
      SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES + COMMIT_FRAME_BYTES,
      SEGMENT_OPTION_BYTES_MAX,
    ),
    // A batch must hold the largest record and its commit, or that record could never be written.
    batchBytesMax: integerIn(
      'batchBytesMax',
      options.batchBytesMax ?? BATCH_BYTES_MAX,
      FRAME_HEADER_BYTES + RECORD_BYTES_MAX + COMMIT_FRAME_BYTES,
      BATCH_OPTION_BYTES_MAX,
    ),
    batchRecordsMax: integerIn(
      'batchRecordsMax',
      options.batchRecordsMax ?? BATCH_RECORDS_MAX,
      1,
      BATCH_OPTION_RECORDS_MAX,
    ),
  };
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`WAL option ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}
