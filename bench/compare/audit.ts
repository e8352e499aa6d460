import type { AuditRow } from '../../scripts/audit/audit-rows.js';
import { passed } from '../../scripts/audit/audit-rows.js';
import { readSaleOverHttp } from '../../scripts/audit/http-reader.js';
import { auditSales } from '../../scripts/audit/invariants.js';
import { clientSideOf } from '../../scripts/audit/pool-tally.js';
import type { TokenPool } from '../../scripts/client/token-pool.js';
import type { SystemUnderTest } from './systems.js';
import type { Tally } from './tally.js';

// After a run, the audit of scripts/audit through the system's own HTTP API (both systems answer
// the same routes): the sale and every customer who bought or may have are read back, and I1-I3
// checked as every tool checks them. The steady load keeps the bodies of a sample of buyers only:
// its other 201s count as units acknowledged (I1) to customers the audit does not read.

export interface AuditResult {
  readonly ok: boolean;
  readonly rows: readonly AuditRow[];
  /** Units sold as read back (0 when the sale could not be read). */
  readonly sold: number;
  readonly largestPerCustomer: number;
}

export interface AuditInput {
  readonly system: SystemUnderTest;
  readonly saleId: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  readonly customers: TokenPool;
  readonly tally: Tally;
}

export async function auditRun(input: AuditInput): Promise<AuditResult> {
  const { system, saleId, stock, perCustomerLimit, tally } = input;
  const client = clientSideOf(tally, input.customers);
  const target = { gatewayUrls: [system.url], saleId, tokenOf: client.tokenOf };
  const read = await readSaleOverHttp(target, client.customers);
  const withBodies = client.acknowledged.reduce((units, order) => units + order.quantity, 0);
  const rows = auditSales([
    {
      saleId,
      configured: { stock, perCustomerLimit, soldBefore: 0 },
      ...read,
      // Every buyer is read unless some 201s were counted without their body (a sample).
      everyBuyerRead: withBodies === tally.acceptedUnits,
      acknowledged: client.acknowledged,
      acknowledgedUnits: tally.acceptedUnits,
      unknownUnits: client.unknownUnits,
    },
  ]);
  return {
    ok: passed(rows),
    rows,
    sold: 'unread' in read.sale ? 0 : read.sale.stock - read.sale.remaining,
    largestPerCustomer: Math.max(0, ...read.holdings.map((holding) => holding.purchased)),
  };
}
