import { createVerifier } from 'fast-jwt';
import t from 'tap';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { EXIT_USAGE } from '../scripts/cli/command-line.js';
import { runTool, STACK_FRAME } from './helpers/tool-run.js';

// `npm run token` as a user runs it: --help prints the usage, a bad command line gets the problem
// and the usage on stderr with exit 64 (EX_USAGE), never a stack trace; a good one a valid token.

const DEVELOPMENT_SECRET = { JWT_SECRET: JWT_SECRET_DEVELOPMENT };

t.test('--help prints the usage and exits 0', async (t) => {
  const run = await runTool('token', ['--help'], DEVELOPMENT_SECRET);
  t.equal(run.exit, 0);
  t.match(run.stdout, /^usage: npm run token/m);
  t.equal(run.stderr, '');
});

const BAD_COMMAND_LINES: readonly (readonly [string[], RegExp])[] = [
  [['--sub'], /--sub <value>' argument missing/],
  [['--ttl', '-100'], /--ttl/],
  [['--ttl=-100'], /--ttl takes a whole number ≥ 1/],
  [['--ttl', '1.5'], /--ttl takes a whole number ≥ 1/],
  [['--sub', 'x'.repeat(129)], /--sub takes a customer id of 1-128 characters/],
  [['--bogus'], /Unknown option '--bogus'/],
  [['alice'], /Unexpected argument 'alice'/],
];

for (const [args, problem] of BAD_COMMAND_LINES)
  t.test(`token ${args.join(' ').slice(0, 40)}: the problem and the usage, exit 64`, async (t) => {
    const run = await runTool('token', args, DEVELOPMENT_SECRET);
    t.equal(run.exit, EXIT_USAGE, `exit ${EXIT_USAGE}; stderr:\n${run.stderr}`);
    t.match(run.stderr, problem, 'says what is wrong');
    t.match(run.stderr, /^usage: npm run token/m, 'and how to call it');
    t.notMatch(run.stderr, STACK_FRAME, 'no stack trace');
    t.equal(run.stdout, '', 'and prints no token');
  });

t.test('a good command line prints a token the gateway would accept', async (t) => {
  const run = await runTool(
    'token',
    ['--sub', 'alice', '--admin', '--ttl', '60'],
    DEVELOPMENT_SECRET,
  );
  t.equal(run.exit, 0, run.stderr);
  const claims = createVerifier({ key: JWT_SECRET_DEVELOPMENT, algorithms: ['HS256'] })(
    run.stdout.trim(),
  ) as { sub: string; role: string; iat: number; exp: number };
  t.equal(claims.sub, 'alice');
  t.equal(claims.role, 'admin');
  t.equal(claims.exp - claims.iat, 60, 'expires after --ttl seconds');
});
