import type { GatewayContext } from '../context.js';

/**
 * Follows the stock of a sale the engine has just shown to exist. A new feed is seeded with a
 * read, so the sold-out fast path and live sockets don't wait for the next publication.
 */
export function followSale(context: GatewayContext, saleId: string): void {
  const { feeds, engine } = context;
  if (!feeds.follow(saleId)) return;
  engine.query(saleId, { type: 'GetSale' }).then(
    (answer) => {
      if (answer.ok && answer.kind === 'sale') {
        const { stock, remaining } = answer.sale;
        feeds.follow(saleId, { type: 'stock', saleId, stock, remaining });
      }
    },
    () => undefined, // the next publication will do
  );
}
