import { assert } from './assert.js';
import { drawOrder } from './draw.js';
import { creditCap, spendCredit } from './queue-rate.js';
import type { QueueEntry, QueueEvent, QueueState } from './queue-types.js';
import type { SaleState } from './types.js';

// Applies the waiting room's events (evolve.ts's half for the queue). No validation of what
// decide accepted; the same code builds the queue live, on replay and in a standby.

type EventOf<T extends QueueEvent['type']> = Extract<QueueEvent, { type: T }>;

export function applyQueueEvent(sale: SaleState, event: QueueEvent): void {
  switch (event.type) {
    case 'LobbyOpened':
      sale.queue = emptyQueue(event.seed, event.seedHash, event.at);
      return;
    case 'QueueJoined':
      addEntry(requireQueue(sale), event);
      return;
    case 'LobbyDrawn':
      draw(requireQueue(sale), sale, event.at);
      return;
    case 'QueueAdvanced':
      advance(requireQueue(sale), sale, event);
      return;
    case 'QueueLeft':
      leave(requireQueue(sale), event.customerId);
      return;
    case 'QueueClosed':
      requireQueue(sale).closedAt = event.at;
      return;
    default: {
      const exhaustive: never = event;
      throw new Error(`unknown queue event ${JSON.stringify(exhaustive)}`);
    }
  }
}

export function emptyQueue(seed: string, seedHash: string, openedAt: number): QueueState {
  return {
    seed,
    seedHash,
    openedAt,
    drawnAt: null,
    closedAt: null,
    entries: [],
    byCustomer: new Map(),
    solutions: new Set(),
    lobbySize: 0,
    line: [],
    serving: 0,
    waiting: 0,
    credit: 0,
    creditAt: openedAt,
    recent: [],
  };
}

function requireQueue(sale: SaleState): QueueState {
  if (sale.queue === null) throw new Error(`queue event for sale ${sale.saleId} before its lobby`);
  return sale.queue;
}

/** Adds a customer's entry: to the lobby before the draw, at the back of the line after it. */
export function addEntry(
  queue: QueueState,
  joined: { customerId: string; solutionId: string; at: number },
): QueueEntry {
  const entry: QueueEntry = {
    customerId: joined.customerId,
    entryId: String(queue.entries.length + 1),
    solutionId: joined.solutionId,
    joinedAt: joined.at,
    ticket: null,
    admittedAt: null,
    left: false,
  };
  queue.entries.push(entry);
  queue.byCustomer.set(entry.customerId, entry);
  queue.solutions.add(entry.solutionId);
  queue.waiting += 1;
  if (queue.drawnAt === null) queue.lobbySize += 1;
  else {
    queue.line.push(entry);
    entry.ticket = queue.line.length;
  }
  return entry;
}

/** The draw: the lobby's entries, in join order, shuffled by the seed (draw.ts) get 1…L. */
export function draw(queue: QueueState, sale: SaleState, at: number): void {
  const lobby = queue.entries.slice(0, queue.lobbySize);
  drawOrder(queue.seed, lobby).forEach((entry, index) => {
    entry.ticket = index + 1;
    queue.line.push(entry);
  });
  queue.drawnAt = at;
  // Admissions start at once with a burst's worth of credit (not more: see queue-rate.ts).
  queue.credit = creditCap(sale.settings.waitingRoom?.admitPerSecond ?? 1);
  queue.creditAt = at;
}

function advance(queue: QueueState, sale: SaleState, event: EventOf<'QueueAdvanced'>): void {
  let admitted = 0;
  for (let ticket = queue.serving + 1; ticket <= event.serving; ticket += 1) {
    const entry = queue.line[ticket - 1];
    assert(entry !== undefined, `ticket ${ticket} of sale ${sale.saleId} is not in the line`);
    if (entry.left) continue;
    entry.admittedAt = event.at;
    admitted += 1;
  }
  // Pair assertion: decide counted these admissions from the same line.
  assert(
    admitted === event.admitted,
    `QueueAdvanced of sale ${sale.saleId} admits ${admitted}, the event says ${event.admitted}`,
  );
  queue.serving = event.serving;
  queue.waiting -= admitted;
  spendCredit(queue, sale.settings.waitingRoom?.admitPerSecond ?? 1, event.at, admitted);
}

function leave(queue: QueueState, customerId: string): void {
  const entry = queue.byCustomer.get(customerId);
  if (entry === undefined) throw new Error(`customer ${customerId} left a queue they never joined`);
  // Counted as waiting until admitted (in the lobby too): leaving takes them off the count.
  if (entry.admittedAt === null) queue.waiting -= 1;
  entry.left = true;
}
