import { rejection } from '../core/errors.js';
import type { Decision, EngineState } from '../core/types.js';
import { type OrderView, viewCustomer, viewOrder, viewSale } from '../core/views.js';
import { type CommandReply, errorReply, type QueryReply } from '../protocol/messages.js';
import type { QueryRequest } from '../protocol/schemas.js';
import { queueCommandReply, queueQueryReply } from './queue-replies.js';

// Replies are read from the state right after the decision was applied, so they show exactly
// what the log now holds.

function requireOrder(state: EngineState, orderId: string): OrderView {
  const order = viewOrder(state, orderId);
  if (order === null) throw new Error(`decided order ${orderId} is not in the state`);
  return order;
}

export function commandReply(state: EngineState, decision: Decision, now: number): CommandReply {
  if (!decision.ok) return errorReply(decision.rejection);
  const outcome = decision.outcome;
  switch (outcome.type) {
    case 'OrderPlaced':
      return {
        ok: true,
        kind: 'order',
        order: requireOrder(state, outcome.orderId),
        replayed: outcome.replayed,
      };
    case 'SaleConfigured': {
      const sale = viewSale(state, outcome.saleId, now);
      if (sale === null) throw new Error(`configured sale ${outcome.saleId} is not in the state`);
      return { ok: true, kind: 'sale', sale, created: outcome.created };
    }
    case 'ShippingStatusRecorded':
      return {
        ok: true,
        kind: 'shipping',
        order: requireOrder(state, outcome.orderId),
        changed: outcome.changed,
      };
    case 'QueueEntered':
    case 'QueueLeft':
    case 'QueueTicked':
      return queueCommandReply(state, outcome, now);
    default: {
      const exhaustive: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(exhaustive)}`);
    }
  }
}

export function queryReply(
  state: EngineState,
  saleId: string,
  request: QueryRequest,
  now: number,
): QueryReply {
  switch (request.type) {
    case 'GetSale': {
      const sale = viewSale(state, saleId, now);
      return sale === null
        ? errorReply(rejection('SALE_NOT_FOUND'))
        : { ok: true, kind: 'sale', sale };
    }
    case 'GetOrder': {
      const order = viewOrder(state, request.orderId);
      // An order of another sale is not found here, whatever another engine holds.
      if (order === null || order.saleId !== saleId)
        return errorReply(rejection('ORDER_NOT_FOUND'));
      return { ok: true, kind: 'order', order };
    }
    case 'GetCustomer': {
      const customer = viewCustomer(state, saleId, request.customerId);
      if (customer === null) return errorReply(rejection('SALE_NOT_FOUND'));
      const { orderIds, ...rest } = customer;
      const orders = orderIds.map((id) => requireOrder(state, id));
      return { ok: true, kind: 'customer', customer: { ...rest, orders } };
    }
    case 'GetQueueEntry':
    case 'GetQueue':
    case 'GetDraw':
      return queueQueryReply(state, saleId, request, now);
    default: {
      const exhaustive: never = request;
      throw new Error(`unknown query ${JSON.stringify(exhaustive)}`);
    }
  }
}
