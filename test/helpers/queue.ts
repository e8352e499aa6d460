import type { Command, Event, WaitingRoomSettings } from '../../engine/core/index.js';
import { sha256Hex } from '../../engine/core/index.js';
import { configure, T0 } from './core.js';

// Commands and events of the waiting room, for the core's tests: a sale `w` whose lobby opens
// at T0, whose draw (startsAt) is at T0 + 10 s, admitting 4 a second for 60 s each.

export const SALE = 'w';
export const LOBBY_AT = T0;
export const DRAW_AT = T0 + 10_000;
export const ROOM: WaitingRoomSettings = {
  lobbyOpensAt: LOBBY_AT,
  admitPerSecond: 4,
  admissionTtlS: 60,
};
export const SEED = 'a'.repeat(64);
export const SEED_HASH = sha256Hex(SEED);

export function configureRoom(
  settings: { stock?: number; room?: Partial<WaitingRoomSettings>; endsAt?: number | null } = {},
): Extract<Command, { type: 'ConfigureSale' }> {
  return {
    ...configure(SALE, {
      stock: settings.stock ?? 100,
      startsAt: DRAW_AT,
      endsAt: settings.endsAt ?? null,
    }),
    waitingRoom: { ...ROOM, ...settings.room },
    at: T0 - 60_000,
  };
}

export const configured = (): Event => {
  const { type: _type, ...rest } = configureRoom();
  return { ...rest, type: 'SaleConfigured' };
};

export function join(customerId: string, at: number, solutionId = `s-${customerId}`): Command {
  return { type: 'JoinQueue', saleId: SALE, customerId, solutionId, seed: SEED, at };
}

export const tick = (at: number, seed = SEED): Command => ({
  type: 'TickQueue',
  saleId: SALE,
  seed,
  at,
});

export const leave = (customerId: string, at: number): Command => ({
  type: 'LeaveQueue',
  saleId: SALE,
  customerId,
  at,
});

export const opened = (at = LOBBY_AT): Event => ({
  type: 'LobbyOpened',
  saleId: SALE,
  seed: SEED,
  seedHash: SEED_HASH,
  at,
});

export const joined = (customerId: string, at: number, solutionId = `s-${customerId}`): Event => ({
  type: 'QueueJoined',
  saleId: SALE,
  customerId,
  solutionId,
  at,
});

export const drawn = (at = DRAW_AT): Event => ({ type: 'LobbyDrawn', saleId: SALE, at });
