import { sha256Hex } from './digest.js';
import { type Rejection, rejection } from './errors.js';
import {
  ADMISSION_TTL_S_MAX,
  ADMIT_PER_SECOND_MAX,
  CUSTOMER_ID_CHARS_MAX,
  QUEUE_ENTRIES_MAX,
  SEED_PATTERN,
  SOLUTION_ID_CHARS_MAX,
  TIMESTAMP_MS_MAX,
} from './limits.js';
import { admissionBudget } from './queue-rate.js';
import type { QueueCommand, QueueEvent, QueueState } from './queue-types.js';
import type { Decision, SaleSettings, SaleState } from './types.js';

// The waiting room's rules (I9): join (the lobby until startsAt, then the back of the line), the
// draw at startsAt, admission at the set rate in ticket order, leaving, and closing when the
// stock is gone. Pure, like decide.ts: the clock and the seed arrive in the command.

type CommandOf<T extends QueueCommand['type']> = Extract<QueueCommand, { type: T }>;

const isTimestamp = (value: number): boolean =>
  Number.isSafeInteger(value) && value >= 0 && value <= TIMESTAMP_MS_MAX;
const isCount = (value: number, min: number, max: number): boolean =>
  Number.isSafeInteger(value) && value >= min && value <= max;
const isText = (value: string, maxChars: number): boolean =>
  value.length >= 1 && value.length <= maxChars;

const refused = (why: Rejection): Decision => ({ ok: false, rejection: why });
const invalid = (message: string): Decision => refused(rejection('INVALID_REQUEST', message));

/** What is wrong with a sale's waiting-room setting, against the sale as it is now. */
export function waitingRoomProblem(
  settings: SaleSettings,
  sale: SaleState | undefined,
): string | null {
  const room = settings.waitingRoom;
  if (sale?.queue != null) {
    // The lobby is open and its seed's hash published: the draw's moment and the room stay.
    const was = sale.settings;
    if (room === undefined) return 'the waiting room cannot be removed once its lobby is open';
    if (room.lobbyOpensAt !== was.waitingRoom?.lobbyOpensAt || settings.startsAt !== was.startsAt)
      return 'lobbyOpensAt and startsAt are fixed once the lobby is open';
  }
  if (room === undefined) return null;
  if (settings.startsAt === null) return 'a sale with a waiting room needs startsAt (the draw)';
  if (!isTimestamp(room.lobbyOpensAt)) return 'waitingRoom.lobbyOpensAt is not a time';
  if (room.lobbyOpensAt > settings.startsAt) return 'waitingRoom.lobbyOpensAt is after startsAt';
  if (!isCount(room.admitPerSecond, 1, ADMIT_PER_SECOND_MAX))
    return `waitingRoom.admitPerSecond must be an integer from 1 to ${ADMIT_PER_SECOND_MAX}`;
  if (!isCount(room.admissionTtlS, 1, ADMISSION_TTL_S_MAX))
    return `waitingRoom.admissionTtlS must be an integer from 1 to ${ADMISSION_TTL_S_MAX}`;
  return null;
}

function lobbyOpened(saleId: string, seed: string, at: number): QueueEvent {
  return { type: 'LobbyOpened', saleId, seed, seedHash: sha256Hex(seed), at };
}

/** The events that bring a queue up to `at`: the lobby opened, the draw done, as due. */
function dueEvents(sale: SaleState, seed: string, at: number): QueueEvent[] {
  const { waitingRoom, startsAt } = sale.settings;
  if (waitingRoom === undefined || at < waitingRoom.lobbyOpensAt) return [];
  const events: QueueEvent[] = [];
  if (sale.queue === null) events.push(lobbyOpened(sale.saleId, seed, at));
  const drawn = sale.queue !== null && sale.queue.drawnAt !== null;
  if (!drawn && startsAt !== null && at >= startsAt)
    events.push({ type: 'LobbyDrawn', saleId: sale.saleId, at });
  return events;
}

function joinProblem(command: CommandOf<'JoinQueue'>): string | null {
  if (!isText(command.customerId, CUSTOMER_ID_CHARS_MAX)) return 'customerId is not valid';
  if (!isText(command.solutionId, SOLUTION_ID_CHARS_MAX)) return 'solutionId is not valid';
  if (!SEED_PATTERN.test(command.seed)) return 'seed is not 64 lowercase hex characters';
  if (!isTimestamp(command.at)) return 'at is not a time';
  return null;
}

const isClosed = (sale: SaleState, queue: QueueState | null, at: number): boolean =>
  queue?.closedAt != null ||
  sale.settings.stock - sale.sold === 0 ||
  (sale.settings.endsAt !== null && at >= sale.settings.endsAt);

export function decideJoinQueue(sale: SaleState, command: CommandOf<'JoinQueue'>): Decision {
  const room = sale.settings.waitingRoom;
  if (room === undefined) return invalid('This sale has no waiting room.');
  const problem = joinProblem(command);
  if (problem !== null) return invalid(problem);
  const { saleId, customerId, solutionId, seed, at } = command;
  const queue = sale.queue;
  if (queue?.solutions.has(solutionId))
    return refused(rejection('CHALLENGE_FAILED', 'This proof of work was already used.'));
  const entered = (joined: boolean) =>
    ({ type: 'QueueEntered', saleId, customerId, joined }) as const;
  if (queue?.byCustomer.has(customerId)) return { ok: true, events: [], outcome: entered(false) };
  if (at < room.lobbyOpensAt)
    return refused(
      rejection('SALE_NOT_OPEN', 'The lobby is not open yet.', { lobbyOpensAt: room.lobbyOpensAt }),
    );
  if (sale.settings.endsAt !== null && at >= sale.settings.endsAt)
    return refused(rejection('SALE_NOT_OPEN', 'The sale has ended.'));
  if (isClosed(sale, queue, at))
    return refused(rejection('SOLD_OUT', 'The sale is sold out; its queue is closed.'));
  if ((queue?.entries.length ?? 0) >= QUEUE_ENTRIES_MAX)
    return refused(rejection('OVERLOADED', `The queue is full (${QUEUE_ENTRIES_MAX} entries).`));
  const events: QueueEvent[] = [
    ...dueEvents(sale, seed, at),
    { type: 'QueueJoined', saleId, customerId, solutionId, at },
  ];
  return { ok: true, events, outcome: entered(true) };
}

export function decideLeaveQueue(sale: SaleState, command: CommandOf<'LeaveQueue'>): Decision {
  if (sale.settings.waitingRoom === undefined) return invalid('This sale has no waiting room.');
  if (!isTimestamp(command.at)) return invalid('at is not a time');
  const { saleId, customerId, at } = command;
  const entry = sale.queue?.byCustomer.get(customerId);
  if (entry === undefined) return invalid("You are not in this sale's queue.");
  const outcome = { type: 'QueueLeft', saleId, customerId } as const;
  if (entry.left) return { ok: true, events: [], outcome };
  return { ok: true, events: [{ type: 'QueueLeft', saleId, customerId, at }], outcome };
}

/** Tickets from serving + 1 up to the budget, skipping those who left: who gets in now. */
function admissions(queue: QueueState, budget: number): { serving: number; admitted: string[] } {
  const admitted: string[] = [];
  let serving = queue.serving;
  for (let ticket = queue.serving + 1; ticket <= queue.line.length; ticket += 1) {
    if (admitted.length >= budget) break;
    const entry = queue.line[ticket - 1];
    if (entry === undefined) break;
    serving = ticket;
    if (!entry.left) admitted.push(entry.customerId);
  }
  return { serving, admitted };
}

export function decideTickQueue(sale: SaleState, command: CommandOf<'TickQueue'>): Decision {
  const { saleId, seed, at } = command;
  const room = sale.settings.waitingRoom;
  const ticked = (admitted: readonly string[], active = true, closed: readonly string[] = []) =>
    ({ type: 'QueueTicked', saleId, active, admitted, closed }) as const;
  if (room === undefined) return { ok: true, events: [], outcome: ticked([], false) };
  if (!SEED_PATTERN.test(seed)) return invalid('seed is not 64 lowercase hex characters');
  if (!isTimestamp(at)) return invalid('at is not a time');
  const queue = sale.queue;
  // One step a tick: the lobby opens, or the draw, or the close, or admissions (the next tick
  // admits after a draw, from the state the draw left).
  const due = dueEvents(sale, seed, at);
  if (due.length > 0) return { ok: true, events: due, outcome: ticked([]) };
  if (queue === null || queue.closedAt !== null)
    return { ok: true, events: [], outcome: ticked([]) };
  if (isClosed(sale, queue, at)) {
    // Everyone still waiting is told at once (the ticker publishes these customers).
    const waiting = queue.entries.filter((e) => !e.left && e.admittedAt === null);
    const closed = waiting.map((e) => e.customerId);
    const events: QueueEvent[] = [{ type: 'QueueClosed', saleId, at }];
    return { ok: true, events, outcome: ticked([], true, closed) };
  }
  const { serving, admitted } = admissions(queue, admissionBudget(queue, room.admitPerSecond, at));
  if (serving === queue.serving) return { ok: true, events: [], outcome: ticked([]) };
  return {
    ok: true,
    events: [{ type: 'QueueAdvanced', saleId, serving, admitted: admitted.length, at }],
    outcome: ticked(admitted),
  };
}

/** Why this customer may not order now (a sale with a waiting room), or null when they may. */
export function admissionRefusal(
  sale: SaleState,
  customerId: string,
  at: number,
): Rejection | null {
  const room = sale.settings.waitingRoom;
  if (room === undefined) return null;
  const queue = sale.queue;
  const entry = queue?.byCustomer.get(customerId);
  if (entry === undefined || queue == null)
    return rejection('NOT_ADMITTED', "Join the sale's queue first; you are not in it.");
  if (entry.left) return rejection('NOT_ADMITTED', 'You left the queue.');
  if (entry.admittedAt !== null) {
    if (at < entry.admittedAt + room.admissionTtlS * 1_000) return null;
    return rejection('NOT_ADMITTED', 'Your admission has expired.', { position: 0 });
  }
  if (entry.ticket === null)
    return rejection('NOT_ADMITTED', 'You are in the lobby; the draw is at the start.');
  const position = entry.ticket - queue.serving;
  return rejection('NOT_ADMITTED', `You are waiting in the queue at position ${position}.`, {
    position,
  });
}
