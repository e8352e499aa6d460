import { setTimeout as delay } from 'node:timers/promises';
import { SALE_STOCK_UNITS_MAX } from '../../engine/protocol/index.js';
import { errorCodeOf, requestJson } from '../../scripts/client/http-json.js';
import { configureSale } from '../../scripts/client/sale-admin.js';
import { mintToken } from '../../scripts/client/tokens.js';

// "A sale takes orders within 1 s of its 201" (DESIGN.md), measured as an operator and a shop
// meet it: a sale is created with PUT /v1/admin/sales/:id through one gateway and, the moment its
// 201 arrives, a customer orders on it through the other gateway (which has never heard of it),
// again and again until an order is accepted. The time is from the 201 to that order's 201; the
// refusals on the way (ENGINE_UNAVAILABLE, SALE_NOT_FOUND) are counted by code.

/** Between two tries: short beside the 1 s promise, long beside a request on an idle stack. */
const RETRY_INTERVAL_MS = 5;
/** Past this the sale counts as never taking an order (the goal missed, the bench goes on). */
const FIRST_ORDER_WAIT_MS_MAX = 15_000;
/** Each of the bench's customers orders one unit: any cap of at least 1 lets every order through. */
const NEW_SALE_LIMIT_PER_CUSTOMER = 2;

export interface FirstOrder {
  readonly saleId: string;
  /** From the PUT's 201 to the first order's 201; null: none within FIRST_ORDER_WAIT_MS_MAX. */
  readonly ms: number | null;
  /** Refused orders on the way, by error code (or status). */
  readonly refusals: Readonly<Record<string, number>>;
}

export interface NewSale {
  readonly saleId: string;
  /** The gateway it is created through, and the other one it is ordered through. */
  readonly adminUrl: string;
  readonly orderUrl: string;
  readonly adminToken: string;
  readonly jwtSecret: string;
}

/** Creates the sale (stock that does not run out) and times its first accepted order. */
export async function newSaleFirstOrder(sale: NewSale): Promise<FirstOrder> {
  const settings = {
    name: sale.saleId,
    stock: SALE_STOCK_UNITS_MAX,
    perCustomerLimit: NEW_SALE_LIMIT_PER_CUSTOMER,
  };
  // configureSale retries a 503 (a gateway shedding load on a busy machine) after its Retry-After.
  const created = await configureSale(sale.adminUrl, sale.adminToken, sale.saleId, settings);
  const createdAt = performance.now();
  if (!created) throw new Error(`${sale.saleId} was there before it was created`);
  const refusals: Record<string, number> = {};
  for (let attempt = 1; performance.now() - createdAt < FIRST_ORDER_WAIT_MS_MAX; attempt += 1) {
    const token = mintToken(sale.jwtSecret, { sub: `first-${sale.saleId}-${attempt}` });
    const reply = await requestJson(`${sale.orderUrl}/v1/sales/${sale.saleId}/orders`, {
      method: 'POST',
      token,
      body: { quantity: 1 },
    });
    if (reply.status === 201)
      return { saleId: sale.saleId, ms: performance.now() - createdAt, refusals };
    const code = errorCodeOf(reply.body) ?? String(reply.status);
    refusals[code] = (refusals[code] ?? 0) + 1;
    await delay(RETRY_INTERVAL_MS);
  }
  return { saleId: sale.saleId, ms: null, refusals };
}
