import type { TokenPool } from '../client/token-pool.js';
import type { AcknowledgedOrder } from './reading.js';

// The burst tool and bench:compare count replies by customer index (customer i of a TokenPool);
// the audit goes by customer id. This turns such a tally into what the audit takes: the
// customers to read (whoever was accepted or may have been), their tokens, the acknowledged
// orders and the units of unknown outcome.

export interface IndexedTally {
  readonly accepted: readonly {
    readonly orderId: string;
    readonly customer: number;
    readonly quantity: number;
  }[];
  readonly unitsByCustomer: ReadonlyMap<number, number>;
  readonly unknownUnitsByCustomer: ReadonlyMap<number, number>;
}

export interface ClientSide {
  /** Every customer who holds units of the run if the system kept its word. */
  readonly customers: readonly string[];
  readonly tokenOf: (customerId: string) => string;
  readonly acknowledged: readonly AcknowledgedOrder[];
  readonly unknownUnits: ReadonlyMap<string, number>;
}

export function clientSideOf(tally: IndexedTally, tokens: TokenPool): ClientSide {
  const indexOf = new Map<string, number>();
  for (const customer of [...tally.unitsByCustomer.keys(), ...tally.unknownUnitsByCustomer.keys()])
    indexOf.set(tokens.customerId(customer), customer);
  return {
    customers: [...indexOf.keys()],
    tokenOf: (customerId) => tokens.token(indexOf.get(customerId)!),
    acknowledged: tally.accepted.map(({ orderId, customer, quantity }) => ({
      orderId,
      customerId: tokens.customerId(customer),
      quantity,
    })),
    unknownUnits: new Map(
      [...tally.unknownUnitsByCustomer].map(([customer, units]) => [
        tokens.customerId(customer),
        units,
      ]),
    ),
  };
}
