import { randomBytes } from 'node:crypto';
import { type Rejection, rejection } from '../core/errors.js';
import { saleIdOfOrderId } from '../core/order-id.js';
import type { Command } from '../core/types.js';
import type { CommandRequest } from '../protocol/schemas.js';

// A checked protocol request, plus what only the engine may supply (the sale from the subject,
// the time from its clock, where a new sale's order sequences start, a random seed for a lobby
// that may open), becomes a core command.

/** The engine's own queue beat (queue-ticker.ts): never decoded from NATS, so nobody else sends it. */
export interface QueueTickRequest {
  readonly type: 'TickQueue';
}

/** What the actor decides: a checked request from NATS, or the engine's own tick. */
export type EngineRequest = CommandRequest | QueueTickRequest;

/** 32 random bytes as hex: the seed of a draw, should this command open a lobby. */
const freshSeed = (): string => randomBytes(32).toString('hex');

export function toCommand(
  saleId: string,
  request: EngineRequest,
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
        ...(request.waitingRoom === undefined ? {} : { waitingRoom: request.waitingRoom }),
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
    case 'JoinQueue':
      return {
        type: 'JoinQueue',
        saleId,
        customerId: request.customerId,
        solutionId: request.solutionId,
        seed: freshSeed(),
        at,
      };
    case 'LeaveQueue':
      return { type: 'LeaveQueue', saleId, customerId: request.customerId, at };
    case 'TickQueue':
      return { type: 'TickQueue', saleId, seed: freshSeed(), at };
    default: {
      const exhaustive: never = request;
      throw new Error(`unknown request ${JSON.stringify(exhaustive)}`);
    }
  }
}

export const isRejection = (value: Command | Rejection): value is Rejection => 'code' in value;
