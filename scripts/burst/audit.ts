import type { AuditRow, Check } from '../audit/audit-rows.js';
import { RowBuilder } from '../audit/audit-rows.js';
import { readOrdersOverHttp, readSaleOverHttp } from '../audit/http-reader.js';
import { auditSales } from '../audit/invariants.js';
import { clientSideOf } from '../audit/pool-tally.js';
import { formatCount } from '../cli/text-table.js';
import type { TokenPool } from '../client/token-pool.js';
import type { BurstTally } from './tally.js';

// After a burst, the audit of scripts/audit over HTTP: every acknowledged order read back by its
// owner, the sale's counters and every customer who bought (or may have) read back through the
// gateways, and I1-I3 checked. One check of the burst's own comes first: a burst that got no
// order accepted from an open sale with stock exercised nothing, and says so (UNCHECKED).

/** Kinds of reply (codes, failures) quoted when a burst had none accepted. */
const REPLY_KINDS_LISTED_MAX = 3;

export interface BurstAuditInput {
  readonly gatewayUrls: readonly string[];
  readonly saleId: string;
  readonly tokens: TokenPool;
  readonly tally: BurstTally;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly soldBefore: number;
}

/**
 * A burst that had an open sale with stock and got no order accepted exercised nothing: every
 * invariant holds vacuously (a gateway answering OVERLOADED to all, a wrong secret), so the audit
 * says it could not check, rather than passing.
 */
const exercised =
  (tally: BurstTally): Check =>
  (reading) => {
    const row = new RowBuilder('the burst had an order accepted, or none to sell');
    row.checked = 1;
    const { sale, configured, saleId } = reading;
    if ('unread' in sale || tally.accepted.length > 0) return row.row();
    if (sale.status !== 'OPEN' || configured.soldBefore >= configured.stock) return row.row();
    const replies = [...tally.rejections, ...tally.failures]
      .slice(0, REPLY_KINDS_LISTED_MAX)
      .map(([what, count]) => `${what} ×${formatCount(count)}`)
      .join(', ');
    row.cannotRead(
      `no order was accepted although sale ${saleId} is OPEN with ` +
        `${formatCount(configured.stock - configured.soldBefore)} units left: the burst exercised ` +
        `nothing, so the checks here prove nothing (replies: ${replies})`,
    );
    return row.row();
  };

export async function auditBurst(input: BurstAuditInput): Promise<AuditRow[]> {
  const { tally, saleId, stock, perCustomerLimit, soldBefore } = input;
  const client = clientSideOf(tally, input.tokens);
  const target = {
    gatewayUrls: input.gatewayUrls,
    saleId,
    tokenOf: client.tokenOf,
    progress: true,
  };
  const readBack = await readOrdersOverHttp(target, client.acknowledged);
  const read = await readSaleOverHttp(target, client.customers);
  const reading = {
    saleId,
    configured: { stock, perCustomerLimit, soldBefore },
    ...read,
    // Customers are new to the sale (a fresh prefix per run): whoever holds units of the run
    // was accepted or may have been, and is read.
    everyBuyerRead: true,
    acknowledged: client.acknowledged,
    unknownUnits: client.unknownUnits,
    readBack,
  };
  return auditSales([reading], [exercised(tally)]);
}
