import { measuredRate } from './queue-rate.js';
import type { QueueEntry } from './queue-types.js';
import type { EngineState, SaleState } from './types.js';

// The waiting room's reads, as plain data computed from state at `now` (from the caller).

export type QueueEntryState = 'LOBBY' | 'WAITING' | 'ADMITTED' | 'EXPIRED' | 'CLOSED' | 'LEFT';
/** The queue as a whole: not open yet, the lobby (before the draw), admitting, or closed. */
export type QueuePhase = 'NOT_OPEN' | 'LOBBY' | 'ADMITTING' | 'CLOSED';

export interface QueueEntryView {
  readonly saleId: string;
  readonly state: QueueEntryState;
  readonly entryId: string;
  readonly ticket: number | null;
  /** ticket − serving while waiting, 0 once admitted, null in the lobby (and once out). */
  readonly position: number | null;
  readonly etaSeconds: number | null;
  readonly admittedAt: number | null;
  readonly admittedUntil: number | null;
}

/** What every client following the sale gets, a few times a second (the same for everyone). */
export interface QueueView {
  readonly saleId: string;
  readonly state: QueuePhase;
  readonly serving: number;
  readonly waiting: number;
  readonly admitPerSecond: number;
  /** Admissions per second measured over the last QUEUE_RATE_WINDOW_MS. */
  readonly admittedPerSecond: number;
  readonly seedHash: string | null;
  readonly startsAt: number | null;
  readonly lobbyOpensAt: number;
}

/** The draw as anyone may check it: the seed and the lobby only once it is done. */
export interface DrawView {
  readonly saleId: string;
  readonly seedHash: string | null;
  readonly seed?: string;
  /** The lobby's entry ids in join order: their shuffle by the seed gives tickets 1…L. */
  readonly lobby?: readonly string[];
  readonly drawnAt?: number;
}

function entryState(sale: SaleState, entry: QueueEntry, now: number): QueueEntryState {
  const ttlS = sale.settings.waitingRoom?.admissionTtlS ?? 0;
  if (entry.left) return 'LEFT';
  if (entry.admittedAt !== null)
    return now < entry.admittedAt + ttlS * 1_000 ? 'ADMITTED' : 'EXPIRED';
  if (sale.queue?.closedAt != null) return 'CLOSED';
  return entry.ticket === null ? 'LOBBY' : 'WAITING';
}

export function viewQueueEntry(
  state: EngineState,
  saleId: string,
  customerId: string,
  now: number,
): QueueEntryView | null {
  const sale = state.sales.get(saleId);
  const queue = sale?.queue;
  const entry = queue?.byCustomer.get(customerId);
  if (sale === undefined || queue == null || entry === undefined) return null;
  const ttlMs = (sale.settings.waitingRoom?.admissionTtlS ?? 0) * 1_000;
  const state_ = entryState(sale, entry, now);
  const position =
    state_ === 'WAITING'
      ? (entry.ticket as number) - queue.serving
      : state_ === 'ADMITTED' || state_ === 'EXPIRED'
        ? 0
        : null;
  const rate = measuredRate(queue, sale.settings.waitingRoom?.admitPerSecond ?? 1, now);
  const etaSeconds =
    position === null ? null : position === 0 ? 0 : Math.ceil(position / Math.max(rate, 1e-3));
  return {
    saleId,
    state: state_,
    entryId: entry.entryId,
    ticket: entry.ticket,
    position,
    etaSeconds,
    admittedAt: entry.admittedAt,
    admittedUntil: entry.admittedAt === null ? null : entry.admittedAt + ttlMs,
  };
}

function phaseOf(sale: SaleState): QueuePhase {
  const queue = sale.queue;
  if (queue === null) return 'NOT_OPEN';
  if (queue.closedAt !== null) return 'CLOSED';
  return queue.drawnAt === null ? 'LOBBY' : 'ADMITTING';
}

export function viewQueue(state: EngineState, saleId: string, now: number): QueueView | null {
  const sale = state.sales.get(saleId);
  const room = sale?.settings.waitingRoom;
  if (sale === undefined || room === undefined) return null;
  const queue = sale.queue;
  return {
    saleId,
    state: phaseOf(sale),
    serving: queue?.serving ?? 0,
    waiting: queue?.waiting ?? 0,
    admitPerSecond: room.admitPerSecond,
    admittedPerSecond: queue === null ? 0 : measuredRate(queue, 0, now),
    seedHash: queue?.seedHash ?? null,
    startsAt: sale.settings.startsAt,
    lobbyOpensAt: room.lobbyOpensAt,
  };
}

export function viewDraw(state: EngineState, saleId: string): DrawView | null {
  const sale = state.sales.get(saleId);
  if (sale === undefined || sale.settings.waitingRoom === undefined) return null;
  const queue = sale.queue;
  if (queue === null) return { saleId, seedHash: null };
  if (queue.drawnAt === null) return { saleId, seedHash: queue.seedHash };
  return {
    saleId,
    seedHash: queue.seedHash,
    seed: queue.seed,
    lobby: queue.entries.slice(0, queue.lobbySize).map((entry) => entry.entryId),
    drawnAt: queue.drawnAt,
  };
}
