import { mintToken, TOKEN_TTL_S_DEFAULT } from './tokens.js';

// One token per simulated customer, minted up front so signing never competes with the load it
// is meant to generate. Customer i is `<prefix><i>`: a fresh prefix per run keeps the customers of
// two runs against the same sale apart.

export class TokenPool {
  private readonly tokens: readonly string[];

  constructor(
    secret: string,
    readonly size: number,
    private readonly customerIdPrefix: string,
    ttlS = TOKEN_TTL_S_DEFAULT,
  ) {
    this.tokens = Array.from({ length: size }, (_, i) =>
      mintToken(secret, { sub: this.customerId(i), ttlS }),
    );
  }

  customerId(customer: number): string {
    return `${this.customerIdPrefix}${customer}`;
  }

  token(customer: number): string {
    return this.tokens[customer]!;
  }

  /** The `Authorization` header value for this customer. */
  authorization(customer: number): string {
    return `Bearer ${this.tokens[customer]!}`;
  }
}
