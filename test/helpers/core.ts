import {
  type Command,
  type Decision,
  decide,
  type EngineState,
  type Event,
  evolve,
  initialState,
  type SaleSettings,
} from '../../engine/core/index.js';

export const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);

/** Decides and, on success, applies the events — what the actor does for each command. */
export function step(state: EngineState, command: Command, log?: Event[]): Decision {
  const decision = decide(state, command);
  if (decision.ok) {
    for (const event of decision.events) evolve(state, event);
    log?.push(...decision.events);
  }
  return decision;
}

export function configure(
  saleId: string,
  settings: Partial<SaleSettings> = {},
  at = T0,
): Extract<Command, { type: 'ConfigureSale' }> {
  return {
    type: 'ConfigureSale',
    saleId,
    name: settings.name ?? `Sale ${saleId}`,
    stock: settings.stock ?? 100,
    perCustomerLimit: settings.perCustomerLimit ?? 2,
    startsAt: settings.startsAt ?? null,
    endsAt: settings.endsAt ?? null,
    at,
  };
}

export function order(
  saleId: string,
  customerId: string,
  quantity = 1,
  extra: { idempotencyKey?: string; requestHash?: string; at?: number } = {},
): Extract<Command, { type: 'PlaceOrder' }> {
  return {
    type: 'PlaceOrder',
    saleId,
    customerId,
    quantity,
    idempotencyKey: extra.idempotencyKey ?? null,
    requestHash: extra.requestHash ?? (extra.idempotencyKey ? `q=${quantity}` : null),
    at: extra.at ?? T0,
  };
}

/** A state holding one sale, ready for orders. */
export function stateWithSale(saleId = 's1', settings: Partial<SaleSettings> = {}): EngineState {
  const state = initialState();
  const decision = step(state, configure(saleId, settings));
  if (!decision.ok) throw new Error(`could not set up sale: ${decision.rejection.message}`);
  return state;
}

export function acceptedOrderId(decision: Decision): string {
  if (!decision.ok || decision.outcome.type !== 'OrderPlaced')
    throw new Error(`expected an accepted order, got ${JSON.stringify(decision)}`);
  return decision.outcome.orderId;
}

export function rejectionCode(decision: Decision): string | null {
  return decision.ok ? null : decision.rejection.code;
}
