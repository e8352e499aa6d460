import type { PoolMember } from '../protocol/catalogue.js';

// Where a new sale goes: the engine of the pool serving the fewest sales, so load spreads as
// sales are created (a flash sale's cost is its burst, and bursts of different sales rarely
// coincide; counting sales is what an operator can see and predict). Ties go to the smallest
// WAL id, so every engine of the pool answers the same. A pinned request names the WAL; it must
// be a member with room. Pure: the pool's members come in, a decision comes out.

export type Placement =
  | { readonly ok: true; readonly member: PoolMember }
  | { readonly ok: false; readonly why: string };

export function choosePlacement(members: readonly PoolMember[], pinnedWalId?: string): Placement {
  const open = members.filter((member) => member.room > 0);
  if (pinnedWalId !== undefined) {
    const pinned = open.find((member) => member.walId === pinnedWalId);
    return pinned !== undefined
      ? { ok: true, member: pinned }
      : { ok: false, why: `no engine of the pool on WAL ${pinnedWalId} with room for a sale` };
  }
  const [best] = [...open].sort((a, b) => a.sales - b.sales || a.walId.localeCompare(b.walId));
  return best !== undefined
    ? { ok: true, member: best }
    : { ok: false, why: 'no engine of the pool has room for another sale' };
}
