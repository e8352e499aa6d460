import { type Rejection, rejection } from '../core/errors.js';
import { saleIdOfOrderId } from '../core/order-id.js';
import type { Command } from '../core/types.js';
import type { CommandRequest } from '../protocol/schemas.js';

// A checked protocol request, plus what only the engine may supply (the sale from the subject,
// the time from its clock, where a new sale's order sequences start), becomes a core command.

export function toCommand(
  saleId: string,
  request: CommandRequest,
  at: number,
  /** The first order sequence of the sale, should this command create it (sale-homes.ts). */
  firstOrderSequenceOf: (saleId: string) => number = () => 1,
): Command | Rejection {
  switch (request.type) {
    case 'PlaceOrder':
      return {
        type: 'PlaceOrder',
        saleId,
        customerId: request.customerId,
        quantity: request.quantity,
        idempotencyKey: request.idempotencyKey ?? null,
        requestHash: request.requestHash ?? null,
        at,
      };
    case 'ConfigureSale':
      return {
        type: 'ConfigureSale',
        saleId,
        name: request.name,
        stock: request.stock,
        perCustomerLimit: request.perCustomerLimit,
        startsAt: request.startsAt ?? null,
        endsAt: request.endsAt ?? null,
        at,
        firstOrderSequence: firstOrderSequenceOf(saleId),
      };
    case 'RecordShippingStatus':
      // The subject decides which engine hears this; an order of another sale is not ours.
      if (saleIdOfOrderId(request.orderId) !== saleId)
        return rejection('INVALID_REQUEST', `order ${request.orderId} is not of sale ${saleId}`);
      return {
        type: 'RecordShippingStatus',
        orderId: request.orderId,
        status: request.status,
        trackingId: request.trackingId ?? null,
        message: request.message ?? null,
        at,
      };
    default: {
      const exhaustive: never = request;
      throw new Error(`unknown request ${JSON.stringify(exhaustive)}`);
    }
  }
}

export const isRejection = (value: Command | Rejection): value is Rejection => 'code' in value;
