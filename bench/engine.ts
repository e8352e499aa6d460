import { coreBenchRows } from './core.js';
import { recoveryBenchRows } from './recovery.js';
import { printTable } from './table.js';
import { walBenchRows } from './wal.js';

// `npm run bench:engine`: the engine's hot paths in one table — the pure core, the WAL, and
// recovery at start. Each part measures its own baseline in this run; progress goes to stderr.

const started = performance.now();
const progress = (part: string): void => {
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.error(`[bench:engine ${seconds}s] ${part}`);
};

progress('core: decide + evolve');
const core = coreBenchRows();
progress('WAL: group commit and replay');
const wal = await walBenchRows();
progress('recovery: replay and snapshot');
const recovery = await recoveryBenchRows();
progress('done');
printTable(`bench:engine — node ${process.version}, ${process.arch}`, [
  ...core,
  ...wal,
  ...recovery,
]);
