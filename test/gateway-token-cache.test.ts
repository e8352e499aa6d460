import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { mintToken } from '../scripts/client/tokens.js';
import type { GatewayProcess } from '../scripts/stack/gateway-process.js';
import { PROJECT_ROOT } from '../scripts/stack/service-process.js';
import { expectError } from './helpers/http-checks.js';
import { createSale, http, startGateway, startStack, TEST_JWT_SECRET } from './helpers/stack.js';

// The gateway's cache of verified tokens (JWT_CACHE_TOKENS_MAX), through real gateway processes:
// a cached token still expires on time, only its exact text hits the cache (a token with another
// signature or payload is verified, and refused), a gateway with the cache off behaves the same,
// and a bad setting stops the gateway before it listens.

const SALE = 'tc';
/** `exp` is whole seconds: this leaves at least 3 s for the requests made before it. */
const SHORT_TTL_S = 4;
/**
 * How long past the token's expiry to wait before using it again. fast-jwt accepts a token up to
 * its `exp` (in seconds) times 1,000, inclusive; the margin keeps the request clearly after it.
 */
const PAST_EXPIRY_MARGIN_MS = 1_100;
/** A bound so a gateway that wrongly starts fails the test instead of hanging it. */
const REFUSAL_WAIT_MS_MAX = 30_000;

/** The token's claims, decoded (not verified). */
function claimsOf(token: string): { sub: string; exp: number } & Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** The same token with one character of its signature changed. */
function withAlteredSignature(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  // Not the last character: its low bits are padding, so changing it may not change the bytes.
  const at = 5;
  const swapped = signature[at] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, at)}${swapped}${signature.slice(at + 1)}`;
}

/** The same header and signature over a payload naming another customer. */
function withAlteredPayload(token: string, sub: string): string {
  const [header, , signature] = token.split('.') as [string, string, string];
  const payload = Buffer.from(JSON.stringify({ ...claimsOf(token), sub })).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

const me = (gateway: GatewayProcess, token: string) =>
  http(`${gateway.url}/v1/sales/${SALE}/me`, { token });

t.test('the verified-token cache', async (t) => {
  const stack = await startStack(t, { sales: [SALE] });
  const cached = await startGateway(t, stack.nats.url, { JWT_CACHE_TOKENS_MAX: '100000' });
  await createSale(stack, SALE, { stock: 10, perCustomerLimit: 2 });
  const gateways: [string, GatewayProcess][] = [
    ['JWT_CACHE_TOKENS_MAX=100000', cached],
    ['no cache (the default)', stack.gateways[0]!],
  ];

  for (const [label, gateway] of gateways) {
    await t.test(`${label}: a token accepted before is refused once it expires`, async (t) => {
      const sub = `expiring-${gateway.port}`;
      const token = mintToken(TEST_JWT_SECRET, { sub, ttlS: SHORT_TTL_S });
      const expiresAtMs = claimsOf(token).exp * 1000;
      for (const use of ['first', 'second']) {
        const response = await me(gateway, token);
        t.equal(response.status, 200, `${use} use: accepted (${JSON.stringify(response.body)})`);
        t.equal(response.body.customerId, sub, `${use} use: as its customer`);
      }
      t.ok(Date.now() < expiresAtMs, 'both uses were before the expiry');
      // Waiting for the clock is what this test is about: the token's own expiry time.
      await delay(expiresAtMs - Date.now() + PAST_EXPIRY_MARGIN_MS);
      const expired = await me(gateway, token);
      expectError(t, expired, 401, 'UNAUTHORIZED', {}, 'after its exp');
      t.match(expired.body.message, /expired/, 'the message says it expired');
    });

    await t.test(`${label}: only the exact text of a verified token is trusted`, async (t) => {
      const sub = `genuine-${gateway.port}`;
      const token = stack.token(sub);
      t.equal((await me(gateway, token)).status, 200, 'the genuine token is accepted');
      t.equal((await me(gateway, token)).status, 200, 'and again');

      const forgedSignature = withAlteredSignature(token);
      t.not(forgedSignature, token);
      expectError(t, await me(gateway, forgedSignature), 401, 'UNAUTHORIZED', {}, 'signature');

      const forgedPayload = withAlteredPayload(token, `intruder-${gateway.port}`);
      t.equal(claimsOf(forgedPayload).sub, `intruder-${gateway.port}`, 'the payload was changed');
      expectError(t, await me(gateway, forgedPayload), 401, 'UNAUTHORIZED', {}, 'payload');
      // Refusals are not remembered either way: asked again, still refused.
      expectError(t, await me(gateway, forgedPayload), 401, 'UNAUTHORIZED', {}, 'payload again');

      const after = await me(gateway, token);
      t.equal(after.status, 200, 'the genuine token is still accepted');
      t.equal(after.body.customerId, sub, 'as its own customer');
    });
  }

  /** Runs a gateway with the setting; resolves with its exit code and output once it has closed. */
  async function runGateway(value: string): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'gateway', 'main.js')], {
      env: {
        ...process.env,
        // A reachable NATS: a gateway that accepted the setting would start and say so.
        NATS_URL: stack.nats.url,
        JWT_SECRET: TEST_JWT_SECRET,
        PORT: '0',
        HOST: '127.0.0.1',
        JWT_CACHE_TOKENS_MAX: value,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('gateway listening')) child.kill('SIGKILL');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const bound = setTimeout(() => child.kill('SIGKILL'), REFUSAL_WAIT_MS_MAX);
    // 'close', not 'exit': every line the process wrote has been read by then.
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(bound);
    return { code, output };
  }

  for (const value of ['-1', 'abc']) {
    await t.test(`JWT_CACHE_TOKENS_MAX=${value}: the gateway refuses to start`, async (t) => {
      const { code, output } = await runGateway(value);
      t.notOk(output.includes('gateway listening'), 'it never listens');
      t.equal(code, 78, `it exits with the bad-configuration code (output: ${output})`);
      t.match(output, /bad configuration.*JWT_CACHE_TOKENS_MAX/, 'naming the setting');
    });
  }

  await t.test(
    'JWT_CACHE_TOKENS_MAX=1 (the control): the gateway starts and verifies',
    async (t) => {
      const gateway = await startGateway(t, stack.nats.url, { JWT_CACHE_TOKENS_MAX: '1' });
      // Two customers alternating through a cache of one token: each is verified and accepted.
      for (const sub of ['one', 'two', 'one', 'two']) {
        const response = await me(gateway, stack.token(sub));
        t.equal(response.status, 200, `${sub}: accepted`);
        t.equal(response.body.customerId, sub, `${sub}: as its own customer`);
      }
    },
  );
});
