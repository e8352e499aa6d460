import t from 'tap';
import { EVENT_LOOP_DELAY_MS_MAX_TESTS } from './helpers/stack.js';
import { runTool } from './helpers/tool-run.js';

// `npm run burst -- --waiting-room R`: the burst through a waiting room, as a user runs it (its
// own stack): every customer solves its proof of work and joins the lobby, orders once admitted,
// and the audit checks I1-I3 and I9 (the draw, the ticket order, orders only while admitted, the
// rate). The proof of work is made cheap here (its cost is a gateway setting).

t.test('npm run burst --waiting-room passes I1-I3 and I9', async (t) => {
  const run = await runTool(
    'burst',
    [
      ...['--customers', '40', '--requests', '60', '--stock', '25', '--limit', '2'],
      ...['--waiting-room', '20', '--lobby', '3', '--warmup', '0'],
    ],
    {
      EVENT_LOOP_DELAY_MS_MAX: String(EVENT_LOOP_DELAY_MS_MAX_TESTS),
      POW_ATTEMPTS_MAX: '20',
      POW_COST: '1',
      RATE_LIMIT_MAX: '1000',
    },
  );
  t.equal(run.exit, 0, `exit code 0; stdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-4000)}`);
  for (const check of ['published draw', 'ticket order', 'only while admitted', 'per second'])
    t.match(run.stdout, new RegExp(`${check}.*\\(I9\\)`), `the audit has the I9 row "${check}"`);
  t.match(run.stdout, /^AUDIT passed/m);
  t.notMatch(run.stdout, /BROKEN|UNCHECKED/);
});
