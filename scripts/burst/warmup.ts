import { configureSale } from '../client/sale-admin.js';
import { TokenPool } from '../client/token-pool.js';
import { mintToken } from '../client/tokens.js';
import { sendBurst } from './orders.js';
import { planBurst } from './plan.js';

// Freshly started processes answer their first thousand requests several times slower than
// later ones (JIT, connection set-up). A sale opens on a shop that has been serving for a while,
// so before the burst the tool sends orders to a warm-up sale of its own stack, through the same
// gateways and the same route, and reports nothing of them.

/** The warm-up sale: stock that can't run out, so every warm-up order takes the durable path. */
export const WARMUP_SALE_ID = 'burst-warmup';
const WARMUP_STOCK_UNITS = 1_000_000_000;
const WARMUP_LIMIT_UNITS = 1_000_000;
const WARMUP_CUSTOMERS_MAX = 1_000;
/** Any fixed seed: the warm-up's plan does not matter, only its volume. */
const WARMUP_SEED = 1;

export async function warmUp(
  gatewayUrls: readonly string[],
  secret: string,
  requests: number,
  concurrency: number,
): Promise<void> {
  await configureSale(
    gatewayUrls[0]!,
    mintToken(secret, { sub: 'burst-admin', role: 'admin' }),
    WARMUP_SALE_ID,
    { name: 'Burst warm-up', stock: WARMUP_STOCK_UNITS, perCustomerLimit: WARMUP_LIMIT_UNITS },
  );
  const customers = Math.min(requests, WARMUP_CUSTOMERS_MAX);
  const tokens = new TokenPool(secret, customers, 'warmup-c');
  const plan = planBurst(customers, requests, WARMUP_SEED);
  await sendBurst({ gatewayUrls, saleId: WARMUP_SALE_ID, tokens }, plan, concurrency, 'warm-up');
}
