import t from 'tap';
import { spawnFixture, watchChild } from './fixtures/wal-kit.js';
import { tempDir } from './helpers/nats.js';
import {
  killMarked,
  newMark,
  OUTLIVE_MS_MAX,
  survivors,
  survivorsAfter,
} from './helpers/process-mark.js';

// The services a test starts stop when the test process dies without any teardown (a test
// runner's timeout, kill -9): orphans would hold ports, locks and CPU for ever. nats-server too,
// through its keeper; the fake carrier too, though its stdout is then a pipe nobody reads.

t.test('a SIGKILLed test process leaves none of the services it started after 5 s', async (t) => {
  const mark = newMark();
  t.teardown(() => killMarked(mark));
  const parent = spawnFixture('services-parent.ts', [mark, await tempDir(t, 'parent-gone')]);
  await watchChild(parent).lineMatching(/^started$/);
  const started = survivors(mark).join('\n');
  for (const main of [
    'nats-server ',
    'nats-keeper',
    'engine/',
    'fake-carrier/',
    'shipping-agent/main',
    'gateway/',
  ])
    t.match(started, main, `${main} runs`);

  parent.kill('SIGKILL');
  t.same(await survivorsAfter(mark, OUTLIVE_MS_MAX), [], 'none is left');
});
