import t from 'tap';
import { drawOrder, sha256Hex } from '../engine/core/index.js';
import { runTool } from './helpers/tool-run.js';

// `npm run draw`: anyone re-runs a published draw and gets every ticket; a seed that is not the
// one whose hash was published is refused.

const SEED = '0123456789abcdef'.repeat(4);
const LOBBY = ['1', '2', '3', '4', '5', '6', '7'];

t.test('prints the tickets of the documented shuffle', async (t) => {
  const run = await runTool('draw', [
    '--seed',
    SEED,
    '--lobby',
    LOBBY.join(','),
    '--seed-hash',
    sha256Hex(SEED),
  ]);
  t.equal(run.exit, 0, run.stderr);
  const expected = drawOrder(SEED, LOBBY).map((id, i) => `${i + 1} ${id}`);
  t.same(run.stdout.trim().split('\n'), expected);
});

t.test('a seed that does not hash to the published hash fails', async (t) => {
  const run = await runTool('draw', [
    '--seed',
    SEED,
    '--lobby',
    '1,2',
    '--seed-hash',
    'f'.repeat(64),
  ]);
  t.equal(run.exit, 1);
  t.match(run.stderr, /not the published/);
});

t.test('a bad command line is 64', async (t) => {
  t.equal((await runTool('draw', ['--seed', SEED])).exit, 64);
});
