// The waiting room's commands, events and state (DESIGN.md, "Waiting room"; I9). Words: a
// ticket is a customer's place (lobby entrants get 1…L in the drawn order, later arrivals L+1,
// L+2, … as they come); serving is the highest ticket admitted so far; a position is
// ticket − serving while waiting. Times are ms since the epoch and arrive in the commands.

export type QueueCommand =
  | Readonly<{
      type: 'JoinQueue';
      saleId: string;
      customerId: string;
      /** The proof of work's id (the gateway checked the work): each is good for one join. */
      solutionId: string;
      /** A fresh random seed from the shell, used only if this join opens the lobby. */
      seed: string;
      at: number;
    }>
  | Readonly<{ type: 'LeaveQueue'; saleId: string; customerId: string; at: number }>
  | Readonly<{
      /** The shell's clock beat (every QUEUE_TICK_MS): opens, draws, admits and closes. */
      type: 'TickQueue';
      saleId: string;
      /** As for JoinQueue: a fresh seed, used only if this tick opens the lobby. */
      seed: string;
      at: number;
    }>;

export type QueueEvent =
  | Readonly<{
      type: 'LobbyOpened';
      saleId: string;
      /** Secret until the draw: the log holds it (operators read it), the API shows only its hash. */
      seed: string;
      seedHash: string;
      at: number;
    }>
  | Readonly<{
      type: 'QueueJoined';
      saleId: string;
      customerId: string;
      solutionId: string;
      at: number;
    }>
  /** The lobby's tickets are its shuffle by the seed (draw.ts): recomputed, not stored. */
  | Readonly<{ type: 'LobbyDrawn'; saleId: string; at: number }>
  | Readonly<{
      type: 'QueueAdvanced';
      saleId: string;
      /** The new serving counter; every ticket up to it that is still queued is admitted at `at`. */
      serving: number;
      /** How many of those tickets were admitted (the others had left): checked on apply. */
      admitted: number;
      at: number;
    }>
  | Readonly<{ type: 'QueueLeft'; saleId: string; customerId: string; at: number }>
  | Readonly<{ type: 'QueueClosed'; saleId: string; at: number }>;

export type QueueOutcome =
  | Readonly<{ type: 'QueueEntered'; saleId: string; customerId: string; joined: boolean }>
  | Readonly<{ type: 'QueueLeft'; saleId: string; customerId: string }>
  | Readonly<{
      type: 'QueueTicked';
      saleId: string;
      /** False for a sale without a waiting room: the ticker need not ask again soon. */
      active: boolean;
      /** Customers this tick admitted, in ticket order. */
      admitted: readonly string[];
      /** Customers still waiting when this tick closed the queue (sold out or ended). */
      closed: readonly string[];
    }>;

export interface QueueEntry {
  readonly customerId: string;
  /** Opaque and public (the draw lists the lobby's): the entry's join number, from 1. */
  readonly entryId: string;
  readonly solutionId: string;
  readonly joinedAt: number;
  /** null in the lobby before the draw. */
  ticket: number | null;
  admittedAt: number | null;
  left: boolean;
}

/** Admissions of one QueueAdvanced, kept for the rate limit and the measured rate. */
export interface RecentAdvance {
  readonly at: number;
  readonly admitted: number;
}

export interface QueueState {
  readonly seed: string;
  readonly seedHash: string;
  readonly openedAt: number;
  drawnAt: number | null;
  closedAt: number | null;
  /** In join order; `entries[n - 1]` has entryId `n`. */
  readonly entries: QueueEntry[];
  readonly byCustomer: Map<string, QueueEntry>;
  /** Proofs of work already spent on this sale's queue (one per entry). */
  readonly solutions: Set<string>;
  /** Entries that joined before the draw (the first `lobbySize` of `entries`). */
  lobbySize: number;
  /** `line[ticket - 1]`: the entries in ticket order, from the draw on. */
  readonly line: QueueEntry[];
  serving: number;
  /** Tickets above serving that have not left (before the draw: the lobby, less those who left). */
  waiting: number;
  /** Admission credit in thousandths of an admission, as of `creditAt` (see queue-rate.ts). */
  credit: number;
  creditAt: number;
  /** The last QUEUE_RATE_WINDOW_MS of admissions, oldest first. */
  readonly recent: RecentAdvance[];
}
