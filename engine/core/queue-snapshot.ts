import { assert } from './assert.js';
import { addEntry, draw, emptyQueue } from './queue-evolve.js';
import type { QueueState, RecentAdvance } from './queue-types.js';
import type { SaleState } from './types.js';

// A queue ↔ plain data for snapshots. Entries are stored in join order, one array per field;
// tickets are not stored: the draw is re-run from the seed (the one code path that gives them,
// as on replay) and the later arrivals follow in join order. Counters are checked against what
// the entries rebuild (a pair assertion on the snapshot).

export interface QueueData {
  readonly seed: string;
  readonly seedHash: string;
  readonly openedAt: number;
  readonly drawnAt: number | null;
  readonly closedAt: number | null;
  readonly lobbySize: number;
  readonly serving: number;
  readonly waiting: number;
  readonly credit: number;
  readonly creditAt: number;
  /** [at, admitted] */
  readonly recent: [number, number][];
  readonly customerId: string[];
  readonly solutionId: string[];
  readonly joinedAt: number[];
  readonly admittedAt: (number | null)[];
  /** 1 for an entry that left the queue. */
  readonly left: (0 | 1)[];
}

/** A copy of the queue as it is now (the snapshot cursor takes it at once, as it does sales). */
export function queueData(queue: QueueState): QueueData {
  const { entries } = queue;
  return {
    seed: queue.seed,
    seedHash: queue.seedHash,
    openedAt: queue.openedAt,
    drawnAt: queue.drawnAt,
    closedAt: queue.closedAt,
    lobbySize: queue.lobbySize,
    serving: queue.serving,
    waiting: queue.waiting,
    credit: queue.credit,
    creditAt: queue.creditAt,
    recent: queue.recent.map((r): [number, number] => [r.at, r.admitted]),
    customerId: entries.map((e) => e.customerId),
    solutionId: entries.map((e) => e.solutionId),
    joinedAt: entries.map((e) => e.joinedAt),
    admittedAt: entries.map((e) => e.admittedAt),
    left: entries.map((e) => (e.left ? 1 : 0)),
  };
}

function addEntries(queue: QueueState, data: QueueData, from: number, to: number): void {
  for (let i = from; i < to; i += 1)
    addEntry(queue, {
      customerId: data.customerId[i] as string,
      solutionId: data.solutionId[i] as string,
      at: data.joinedAt[i] as number,
    });
}

export function queueFromData(sale: SaleState, data: QueueData): QueueState {
  const count = data.customerId.length;
  for (const field of [data.solutionId, data.joinedAt, data.admittedAt, data.left])
    assert(field.length === count, `snapshot queue of ${sale.saleId} has uneven entry fields`);
  const queue = emptyQueue(data.seed, data.seedHash, data.openedAt);
  const lobby = data.drawnAt === null ? count : data.lobbySize;
  addEntries(queue, data, 0, lobby);
  if (data.drawnAt !== null) {
    draw(queue, sale, data.drawnAt);
    addEntries(queue, data, lobby, count);
  }
  queue.entries.forEach((entry, i) => {
    entry.admittedAt = data.admittedAt[i] ?? null;
    entry.left = data.left[i] === 1;
  });
  Object.assign(queue, {
    closedAt: data.closedAt,
    serving: data.serving,
    waiting: data.waiting,
    credit: data.credit,
    creditAt: data.creditAt,
  });
  queue.recent.push(...data.recent.map(([at, admitted]): RecentAdvance => ({ at, admitted })));
  const waiting = queue.entries.filter((e) => !e.left && e.admittedAt === null).length;
  assert(
    waiting === data.waiting && queue.lobbySize === data.lobbySize,
    `snapshot queue of ${sale.saleId} says ${data.waiting} waiting, its entries ${waiting}`,
  );
  return queue;
}
