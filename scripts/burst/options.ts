import { parseArgs } from 'node:util';
import { JWT_SECRET_DEVELOPMENT } from '../../gateway/config.js';
import { UsageError } from '../cli/command-line.js';

// The burst tool's command line, validated, with its defaults: a 100-unit sale at 2 per customer,
// 1,000 customers sending 3,000 requests, 500 at a time.

export const BURST_USAGE = `usage: npm run burst -- [options]
  --url URL          a gateway base URL; repeat or comma-separate to spread over gateways
                     (default: start nats-server, an engine and 2 gateways in a temp dir)
  --sale ID          the sale (default burst-<time>; with --url, one the engine serves)
  --stock N          units for sale when creating it (default 100)
  --limit N          units per customer when creating it (default 2)
  --customers N      distinct customers, one token each (default 1000)
  --requests N       order requests in all (default 3000)
  --concurrency N    requests in flight at once (default 500)
  --secret S         the gateways' JWT secret (default $JWT_SECRET or the development one)
  --create           create or reset the sale through the admin route first
  --no-create        use the sale as it is (the default with --url)
  --warmup N         orders on a separate sale before the burst, so it meets warm processes
                     (default 2000 when it starts its own stack; needs its own stack)
  --seed N           repeat an earlier run's plan exactly (default: random, printed)
  --waiting-room R   put the sale behind a waiting room admitting R a second (needs --create):
                     every customer solves its proof of work and joins the lobby, then orders
                     once admitted, in ticket order; the audit checks I9 too
  --lobby S          seconds from the sale's creation to the draw (default 5)`;

/** Warm-up orders by default when the tool starts its own, cold, stack. */
const WARMUP_REQUESTS_DEFAULT = 2_000;

export interface BurstOptions {
  /** Empty: start a local stack. */
  readonly urls: readonly string[];
  readonly saleId: string;
  readonly stock: number;
  readonly limit: number;
  readonly customers: number;
  readonly requests: number;
  readonly concurrency: number;
  readonly secret: string;
  readonly create: boolean;
  /** Orders sent to a warm-up sale first (own stack only). */
  readonly warmup: number;
  readonly seed: number;
  /** admitPerSecond of the sale's waiting room, or null for a sale without one. */
  readonly waitingRoom: number | null;
  readonly lobbyS: number;
  /** The flags given explicitly, to tell a chosen --stock from the default. */
  readonly explicit: ReadonlySet<string>;
}

function count(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${name} takes a whole number ≥ ${min}, not ${JSON.stringify(text)}`);
  return value;
}

export function parseBurstOptions(args: readonly string[]): BurstOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const urls = (values.url ?? [])
    .flatMap((url) => url.split(','))
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  for (const url of urls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new UsageError(`--url takes http(s) base URLs, not ${JSON.stringify(url)}`);
  }
  const saleId = values.sale ?? `burst-${Date.now().toString(36)}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(saleId))
    throw new UsageError('--sale takes 1-64 characters of [A-Za-z0-9_-]');
  if (values.create === true && values['no-create'] === true)
    throw new UsageError('--create and --no-create contradict each other');
  const warmup =
    values.warmup === undefined
      ? urls.length === 0
        ? WARMUP_REQUESTS_DEFAULT
        : 0
      : count('warmup', values.warmup, 0);
  if (warmup > 0 && urls.length > 0)
    throw new UsageError('--warmup needs the stack the tool starts itself (no --url)');
  if (values['waiting-room'] !== undefined && values['no-create'] === true)
    throw new UsageError('--waiting-room sets the sale up: it needs --create');
  return {
    urls,
    saleId,
    stock: count('stock', values.stock, 0),
    limit: count('limit', values.limit, 1),
    customers: count('customers', values.customers, 1),
    requests: count('requests', values.requests, 1),
    concurrency: count('concurrency', values.concurrency, 1),
    secret: values.secret ?? process.env.JWT_SECRET ?? JWT_SECRET_DEVELOPMENT,
    create: values['no-create'] === true ? false : (values.create ?? urls.length === 0),
    warmup,
    seed:
      values.seed === undefined
        ? Math.floor(Math.random() * 2 ** 31)
        : count('seed', values.seed, 0),
    waitingRoom:
      values['waiting-room'] === undefined
        ? null
        : count('waiting-room', values['waiting-room'], 1),
    lobbyS: count('lobby', values.lobby, 1),
    explicit: new Set(
      parsed.tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : [])),
    ),
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    tokens: true,
    options: {
      url: { type: 'string', multiple: true },
      sale: { type: 'string' },
      stock: { type: 'string', default: '100' },
      limit: { type: 'string', default: '2' },
      customers: { type: 'string', default: '1000' },
      requests: { type: 'string', default: '3000' },
      concurrency: { type: 'string', default: '500' },
      secret: { type: 'string' },
      create: { type: 'boolean' },
      'no-create': { type: 'boolean' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      'waiting-room': { type: 'string' },
      lobby: { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
