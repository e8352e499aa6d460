import { mintToken } from '../../scripts/lib/tokens.js';

// The simulated customers of a run: customer i is `<prefix><i>`, with a token minted up front
// so signing never competes with the load. Both systems verify the same HS256 tokens.

export class Customers {
  private readonly tokens: readonly string[];

  constructor(
    secret: string,
    readonly count: number,
    private readonly prefix: string,
  ) {
    this.tokens = Array.from({ length: count }, (_, i) => mintToken(secret, { sub: this.id(i) }));
  }

  id(customer: number): string {
    return `${this.prefix}${customer}`;
  }

  token(customer: number): string {
    return this.tokens[customer]!;
  }
}
