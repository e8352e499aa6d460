import type { StockMessage } from '../../engine/protocol/index.js';
import type { GatewayContext } from '../context.js';

/**
 * Follows the stock of a sale the engine has just shown to exist. `sale` is what the engine
 * answered with, when it did (GET or PUT of the sale): the cache takes it. A new feed without it
 * is seeded with a read, so the sold-out fast path and live sockets don't wait for the next
 * publication.
 */
export function followSale(
  context: GatewayContext,
  saleId: string,
  sale?: { readonly stock: number; readonly remaining: number },
): void {
  const { feeds, engine } = context;
  const seen = sale === undefined ? undefined : stockMessage(saleId, sale);
  if (!feeds.follow(saleId, seen) || seen !== undefined) return;
  engine.query(saleId, { type: 'GetSale' }).then(
    (answer) => {
      if (answer.ok && answer.kind === 'sale')
        feeds.follow(saleId, stockMessage(saleId, answer.sale));
    },
    () => undefined, // the next publication will do
  );
}

function stockMessage(
  saleId: string,
  { stock, remaining }: { readonly stock: number; readonly remaining: number },
): StockMessage {
  return { type: 'stock', saleId, stock, remaining };
}
