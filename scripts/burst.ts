import { auditProblemLines, formatAuditTable } from './audit/audit-report.js';
import { failuresOf, passed } from './audit/audit-rows.js';
import { auditBurst } from './burst/audit.js';
import { BURST_USAGE, type BurstOptions, parseBurstOptions } from './burst/options.js';
import { type BurstTarget, sendBurst } from './burst/orders.js';
import { planBurst } from './burst/plan.js';
import { auditQueueBurst, roomFields, sendQueueBurst } from './burst/queue-burst.js';
import { formatBurstSummary } from './burst/summary.js';
import { tallyBurst } from './burst/tally.js';
import { WARMUP_SALE_ID, warmUp } from './burst/warmup.js';
import { EXIT_NOT_RUN, EXIT_USAGE, UsageError, wantsHelp } from './cli/command-line.js';
import { formatCount } from './cli/text-table.js';
import type { LoadRun } from './client/load-runner.js';
import type { PlacementOutcome } from './client/order-placement.js';
import { configureSale, readSale, SaleRequestError, type SaleState } from './client/sale-admin.js';
import { TokenPool } from './client/token-pool.js';
import { mintToken } from './client/tokens.js';
import { type LocalStack, startLocalStack } from './stack/local-stack.js';

// `npm run burst -- [options]` (see --help): the opening second of a sale through the HTTP API.
// Customers with their own tokens send orders at once over one or more gateways; then a summary
// table, and an audit that reads every acknowledged order, the stock and each buyer's units back.
// Exit 0 when every invariant holds, 1 when the audit finds one broken or can't check it, 2 when
// the run could not happen (no stack, no sale), 64 on a bad command line.

const EXIT_AUDIT_FAILED = 1;
/** Whichever signal stopped it, as a shell reports a Ctrl-C. */
const EXIT_INTERRUPTED = 130;
/** Gateways of the stack the tool starts when given no --url. */
const LOCAL_GATEWAYS = 2;

async function prepareSale(options: BurstOptions, gatewayUrl: string): Promise<SaleState> {
  const { saleId, secret } = options;
  if (options.create) {
    const adminToken = mintToken(secret, { sub: 'burst-admin', role: 'admin' });
    const room =
      options.waitingRoom === null
        ? {}
        : roomFields({ admitPerSecond: options.waitingRoom, lobbyS: options.lobbyS }, Date.now());
    const settings = {
      name: `Burst ${saleId}`,
      stock: options.stock,
      perCustomerLimit: options.limit,
      ...room,
    };
    await configureSale(gatewayUrl, adminToken, saleId, settings);
  }
  const sale = await readSale(gatewayUrl, saleId);
  if (!options.create) {
    for (const [flag, asked, actual] of [
      ['stock', options.stock, sale.stock],
      ['limit', options.limit, sale.perCustomerLimit],
    ] as const) {
      if (options.explicit.has(flag) && asked !== actual)
        console.error(`note: --${flag} ${asked} ignored: the sale has ${actual} (add --create)`);
    }
  }
  if (sale.status !== 'OPEN' && options.waitingRoom === null)
    console.error(`note: sale ${saleId} is ${sale.status}; expect its refusals, not sales`);
  return sale;
}

function explain(error: unknown, options: BurstOptions): string {
  if (!(error instanceof SaleRequestError))
    return `burst could not run: ${(error as Error).message}`;
  if (error.code === 'ENGINE_UNAVAILABLE')
    return (
      `${error.message}\nNo engine serves sale ${options.saleId}: an engine serves only the ` +
      'sales in its ENGINE_SALES. Pass --sale with one of those.'
    );
  if (error.code === 'SALE_NOT_FOUND')
    return `${error.message}\nSale ${options.saleId} does not exist yet: add --create.`;
  if (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN')
    return `${error.message}\nThe gateways use another JWT secret: pass --secret or JWT_SECRET.`;
  return error.message;
}

/** The orders at once, or (--waiting-room) each customer's once it is admitted. */
async function send(
  options: BurstOptions,
  target: BurstTarget,
  plan: ReturnType<typeof planBurst>,
): Promise<LoadRun<PlacementOutcome> & { readonly joined?: readonly number[] }> {
  return options.waitingRoom === null
    ? sendBurst(target, plan, options.concurrency)
    : sendQueueBurst(target, plan);
}

async function burst(options: BurstOptions, gatewayUrls: readonly string[]): Promise<number> {
  const { saleId, customers, requests, concurrency, seed } = options;
  const before = await prepareSale(options, gatewayUrls[0]!);
  const soldBefore = before.stock - before.remaining;
  const tokens = new TokenPool(options.secret, customers, `${saleId}-${Date.now().toString(36)}-c`);
  const plan = planBurst(customers, requests, seed);
  console.log(
    `burst: sale ${saleId} (stock ${formatCount(before.stock)}, remaining ` +
      `${formatCount(before.remaining)}, limit ${before.perCustomerLimit} per customer, ` +
      `${before.status}); ${formatCount(requests)} orders from ` +
      `${formatCount(Math.min(customers, requests))} customers, ` +
      `${formatCount(concurrency)} at a time, over ${gatewayUrls.join(', ')}; seed ${seed}`,
  );
  const target = { gatewayUrls, saleId, tokens };
  const run = await send(options, target, plan);
  const tally = tallyBurst(plan, run.outcomes);
  const setting = {
    saleId,
    stock: before.stock,
    perCustomerLimit: before.perCustomerLimit,
    soldBefore,
    customers: Math.min(customers, requests),
    concurrency,
    gateways: gatewayUrls.length,
  };
  console.log(`\n${formatBurstSummary(setting, tally, run.latenciesMs, run.elapsedMs)}\n`);

  const rows = await auditBurst({ ...target, ...setting, tally });
  if (run.joined !== undefined) rows.push(...(await auditQueueBurst(target, run.joined)));
  console.log(`AUDIT\n${formatAuditTable(rows)}`);
  for (const line of auditProblemLines(rows)) console.log(line);
  if (passed(rows)) {
    console.log(
      'AUDIT passed: every acknowledged order is there, no oversale, nobody above the cap',
    );
    return 0;
  }
  console.log(`AUDIT FAILED: ${failuresOf(rows).length} finding(s) above are not ok`);
  return EXIT_AUDIT_FAILED;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (wantsHelp(args)) {
    console.log(BURST_USAGE);
    return 0;
  }
  let options: BurstOptions;
  try {
    options = parseBurstOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${BURST_USAGE}`);
    return EXIT_USAGE;
  }

  let stack: LocalStack | null = null;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping`);
      void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(EXIT_INTERRUPTED));
    });
  }
  try {
    let gatewayUrls = options.urls;
    if (gatewayUrls.length === 0) {
      console.error(`starting nats-server, an engine and ${LOCAL_GATEWAYS} gateways…`);
      stack = await startLocalStack({
        sales: [options.saleId, WARMUP_SALE_ID],
        gateways: LOCAL_GATEWAYS,
        jwtSecret: options.secret,
      });
      gatewayUrls = stack.gatewayUrls;
    }
    if (options.warmup > 0)
      await warmUp(gatewayUrls, options.secret, options.warmup, options.concurrency);
    return await burst(options, gatewayUrls);
  } catch (error) {
    console.error(explain(error, options));
    return EXIT_NOT_RUN;
  } finally {
    await stack?.stop();
  }
}

process.exitCode = await main();
