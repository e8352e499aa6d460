import { type ErrorDetails, rejection } from './errors.js';
import {
  CUSTOMER_ID_CHARS_MAX,
  IDEMPOTENCY_KEY_CHARS_MAX,
  ORDER_HISTORY_ENTRIES_MAX,
  ORDER_QUANTITY_UNITS_MAX,
  PER_CUSTOMER_LIMIT_UNITS_MAX,
  REQUEST_HASH_CHARS_MAX,
  SALE_ID_PATTERN,
  SALE_NAME_CHARS_MAX,
  SALE_STOCK_UNITS_MAX,
  SHIPPING_MESSAGE_CHARS_MAX,
  TIMESTAMP_MS_MAX,
  TRACKING_ID_CHARS_MAX,
} from './limits.js';
import { formatOrderId } from './order-id.js';
import {
  admissionRefusal,
  decideJoinQueue,
  decideLeaveQueue,
  decideTickQueue,
  waitingRoomProblem,
} from './queue.js';
import {
  type Command,
  type Decision,
  type EngineState,
  idempotencyIndexKey,
  orderOf,
  type SaleState,
  type WaitingRoomSettings,
} from './types.js';

// All the business rules, and nothing else: state + command → events or a rejection.
// Pure: no I/O, no clock, no randomness; it reads the state and never writes to it.

type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

export function decide(state: EngineState, command: Command): Decision {
  switch (command.type) {
    case 'ConfigureSale':
      return decideConfigureSale(state, command);
    case 'PlaceOrder':
      return decidePlaceOrder(state, command);
    case 'RecordShippingStatus':
      return decideRecordShippingStatus(state, command);
    case 'JoinQueue':
    case 'LeaveQueue':
    case 'TickQueue':
      return decideQueueCommand(state, command);
    default: {
      const exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(exhaustive)}`);
    }
  }
}

function decideQueueCommand(
  state: EngineState,
  command: CommandOf<'JoinQueue' | 'LeaveQueue' | 'TickQueue'>,
): Decision {
  const sale = state.sales.get(command.saleId);
  if (sale === undefined) return { ok: false, rejection: rejection('SALE_NOT_FOUND') };
  if (command.type === 'JoinQueue') return decideJoinQueue(sale, command);
  if (command.type === 'LeaveQueue') return decideLeaveQueue(sale, command);
  return decideTickQueue(sale, command);
}

const invalid = (message: string, details?: ErrorDetails): Decision => ({
  ok: false,
  rejection: rejection('INVALID_REQUEST', message, details),
});

const isTimestamp = (value: number): boolean =>
  Number.isSafeInteger(value) && value >= 0 && value <= TIMESTAMP_MS_MAX;

const isCount = (value: number, min: number, max: number): boolean =>
  Number.isSafeInteger(value) && value >= min && value <= max;

const isText = (value: string, maxChars: number): boolean =>
  value.length >= 1 && value.length <= maxChars;

function settingsProblem(command: CommandOf<'ConfigureSale'>): string | null {
  if (!SALE_ID_PATTERN.test(command.saleId)) return 'saleId must be 1-64 of [A-Za-z0-9_-]';
  if (!isText(command.name.trim(), SALE_NAME_CHARS_MAX))
    return `name must be 1-${SALE_NAME_CHARS_MAX} characters`;
  if (!isCount(command.stock, 0, SALE_STOCK_UNITS_MAX))
    return `stock must be an integer from 0 to ${SALE_STOCK_UNITS_MAX}`;
  if (!isCount(command.perCustomerLimit, 1, PER_CUSTOMER_LIMIT_UNITS_MAX))
    return `perCustomerLimit must be an integer from 1 to ${PER_CUSTOMER_LIMIT_UNITS_MAX}`;
  if (command.startsAt !== null && !isTimestamp(command.startsAt)) return 'startsAt is not a time';
  if (command.endsAt !== null && !isTimestamp(command.endsAt)) return 'endsAt is not a time';
  if (command.startsAt !== null && command.endsAt !== null && command.startsAt >= command.endsAt)
    return 'startsAt must be before endsAt';
  return null;
}

function largestPurchase(sale: SaleState): number {
  let largest = 0;
  for (const customer of sale.customers.values()) largest = Math.max(largest, customer.purchased);
  return largest;
}

function decideConfigureSale(state: EngineState, command: CommandOf<'ConfigureSale'>): Decision {
  const problem = settingsProblem(command);
  if (problem !== null) return invalid(problem);
  const { saleId, name, stock, perCustomerLimit, startsAt, endsAt, waitingRoom, at } = command;
  const sale = state.sales.get(saleId);
  const roomProblem = waitingRoomProblem(command, sale);
  if (roomProblem !== null) return invalid(roomProblem);
  const { firstOrderSequence = 1 } = command;
  if (!Number.isSafeInteger(firstOrderSequence) || firstOrderSequence < 1)
    return invalid(`firstOrderSequence ${firstOrderSequence} is not a positive integer`);
  if (sale !== undefined) {
    // Lowering stock below what is sold, or the cap below what someone already bought, would
    // break I1/I2 for orders we have acknowledged; refuse rather than cancel them.
    if (stock < sale.sold)
      return invalid(`stock ${stock} is below the ${sale.sold} units already sold`, {
        sold: sale.sold,
      });
    const largest = largestPurchase(sale);
    if (perCustomerLimit < largest)
      return invalid(`perCustomerLimit ${perCustomerLimit} is below a customer's ${largest}`, {
        purchased: largest,
      });
    const s = sale.settings;
    const unchanged =
      s.name === name &&
      s.stock === stock &&
      s.perCustomerLimit === perCustomerLimit &&
      s.startsAt === startsAt &&
      s.endsAt === endsAt &&
      sameWaitingRoom(s.waitingRoom, waitingRoom);
    if (unchanged)
      return { ok: true, events: [], outcome: { type: 'SaleConfigured', saleId, created: false } };
  }
  return {
    ok: true,
    events: [
      {
        type: 'SaleConfigured',
        saleId,
        name,
        stock,
        perCustomerLimit,
        startsAt,
        endsAt,
        ...(waitingRoom === undefined ? {} : { waitingRoom }),
        at,
        // Only where a sale starts, and only when it differs: existing logs and replies stay as
        // they were.
        ...(sale === undefined && firstOrderSequence !== 1 ? { firstOrderSequence } : {}),
      },
    ],
    outcome: { type: 'SaleConfigured', saleId, created: sale === undefined },
  };
}

function sameWaitingRoom(a?: WaitingRoomSettings, b?: WaitingRoomSettings): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.lobbyOpensAt === b.lobbyOpensAt &&
    a.admitPerSecond === b.admitPerSecond &&
    a.admissionTtlS === b.admissionTtlS
  );
}

function orderProblem(command: CommandOf<'PlaceOrder'>): string | null {
  if (!isText(command.customerId, CUSTOMER_ID_CHARS_MAX)) return 'customerId is not valid';
  if (!isCount(command.quantity, 1, ORDER_QUANTITY_UNITS_MAX))
    return `quantity must be an integer from 1 to ${ORDER_QUANTITY_UNITS_MAX}`;
  if (command.idempotencyKey !== null && !isText(command.idempotencyKey, IDEMPOTENCY_KEY_CHARS_MAX))
    return `Idempotency-Key must be 1-${IDEMPOTENCY_KEY_CHARS_MAX} characters`;
  if (command.requestHash !== null && !isText(command.requestHash, REQUEST_HASH_CHARS_MAX))
    return 'requestHash is not valid';
  if (!isTimestamp(command.at)) return 'at is not a time';
  return null;
}

function decidePlaceOrder(state: EngineState, command: CommandOf<'PlaceOrder'>): Decision {
  const sale = state.sales.get(command.saleId);
  if (sale === undefined) return { ok: false, rejection: rejection('SALE_NOT_FOUND') };
  const problem = orderProblem(command);
  if (problem !== null) return invalid(problem);
  const { customerId, quantity, idempotencyKey, requestHash, at } = command;
  if (idempotencyKey !== null) {
    const orderId = sale.idempotency.get(idempotencyIndexKey(customerId, idempotencyKey));
    if (orderId !== undefined) {
      // I5: only an accepted order binds a key, so a hit is always a replay of an order we hold.
      if (orderOf(state, orderId)?.requestHash !== requestHash)
        return { ok: false, rejection: rejection('IDEMPOTENCY_KEY_REUSED') };
      return { ok: true, events: [], outcome: { type: 'OrderPlaced', orderId, replayed: true } };
    }
  }
  const { startsAt, endsAt, stock, perCustomerLimit } = sale.settings;
  if ((startsAt !== null && at < startsAt) || (endsAt !== null && at >= endsAt))
    return { ok: false, rejection: rejection('SALE_NOT_OPEN') };
  const remaining = stock - sale.sold;
  if (remaining === 0) return { ok: false, rejection: rejection('SOLD_OUT') };
  const notAdmitted = admissionRefusal(sale, customerId, at);
  if (notAdmitted !== null) return { ok: false, rejection: notAdmitted };
  if (quantity > remaining)
    return {
      ok: false,
      rejection: rejection('INSUFFICIENT_STOCK', `Only ${remaining} left; no partial orders.`, {
        remaining,
      }),
    };
  const purchased = sale.customers.get(customerId)?.purchased ?? 0;
  if (purchased + quantity > perCustomerLimit)
    return {
      ok: false,
      rejection: rejection(
        'LIMIT_EXCEEDED',
        `At most ${perCustomerLimit} per customer; you already have ${purchased}.`,
        { limit: perCustomerLimit, purchased },
      ),
    };
  const orderId = formatOrderId(sale.saleId, sale.lastOrderSequence + 1);
  return {
    ok: true,
    events: [
      {
        type: 'OrderPlaced',
        orderId,
        saleId: sale.saleId,
        customerId,
        quantity,
        idempotencyKey,
        requestHash,
        at,
      },
    ],
    outcome: { type: 'OrderPlaced', orderId, replayed: false },
  };
}

function shippingProblem(command: CommandOf<'RecordShippingStatus'>): string | null {
  const { status, trackingId, message } = command;
  if (status === 'SHIPPING_REQUESTED' && trackingId === null)
    return 'SHIPPING_REQUESTED needs a trackingId';
  if (trackingId !== null && !isText(trackingId, TRACKING_ID_CHARS_MAX))
    return 'trackingId is not valid';
  if (message !== null && !isText(message, SHIPPING_MESSAGE_CHARS_MAX))
    return `message must be 1-${SHIPPING_MESSAGE_CHARS_MAX} characters`;
  if (!isTimestamp(command.at)) return 'at is not a time';
  return null;
}

function decideRecordShippingStatus(
  state: EngineState,
  command: CommandOf<'RecordShippingStatus'>,
): Decision {
  const order = orderOf(state, command.orderId);
  if (order === undefined) return { ok: false, rejection: rejection('ORDER_NOT_FOUND') };
  const problem = shippingProblem(command);
  if (problem !== null) return invalid(problem);
  const { orderId, status, trackingId, message, at } = command;
  // Reports arrive late and twice (JetStream redelivers): a requested shipment is final, a repeat
  // of the current status is a duplicate, and a full history only takes the final status.
  const ignored =
    order.status === 'SHIPPING_REQUESTED' ||
    order.status === status ||
    (order.history.length >= ORDER_HISTORY_ENTRIES_MAX && status !== 'SHIPPING_REQUESTED');
  if (ignored)
    return {
      ok: true,
      events: [],
      outcome: { type: 'ShippingStatusRecorded', orderId, changed: false },
    };
  return {
    ok: true,
    events: [{ type: 'ShippingStatusRecorded', orderId, status, trackingId, message, at }],
    outcome: { type: 'ShippingStatusRecorded', orderId, changed: true },
  };
}
