import t from 'tap';
import { OUTLIVE_MS_MAX, privateEnv, READY_LINE, runDevStack } from './helpers/dev-stack.js';

// Nothing `npm start` started outlives it by more than 5 s, however it is killed: a closed
// terminal or a killed CI job (SIGKILL to its whole process group), the dev stack's node killed
// alone (its children lose their parent), npm killed alone (sh and node run on, with nobody to
// stop them). nats-server and the fake carrier included: both once outlived such a kill.

t.test("SIGKILL to npm start's process group: nothing is left after 5 s", async (t) => {
  const stack = await runDevStack(t, await privateEnv(t), { underNpm: true });
  await stack.waitFor(READY_LINE);
  process.kill(-stack.child.pid!, 'SIGKILL');
  t.same(await stack.survivorsAfter(OUTLIVE_MS_MAX), [], 'no process of the stack is left');
});

t.test("SIGKILL to the dev stack's node process alone: nothing is left after 5 s", async (t) => {
  const stack = await runDevStack(t, await privateEnv(t));
  await stack.waitFor(READY_LINE);
  process.kill(stack.devStackPid(), 'SIGKILL');
  t.same(await stack.survivorsAfter(OUTLIVE_MS_MAX), [], 'no process of the stack is left');
});

t.test('SIGKILL to npm alone: the dev stack sees it and stops everything in 5 s', async (t) => {
  const stack = await runDevStack(t, await privateEnv(t), { underNpm: true });
  await stack.waitFor(READY_LINE);
  process.kill(stack.child.pid!, 'SIGKILL');
  t.same(await stack.survivorsAfter(OUTLIVE_MS_MAX), [], 'no process of the stack is left');
});
