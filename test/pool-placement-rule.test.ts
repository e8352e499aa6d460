import fc from 'fast-check';
import t from 'tap';
import type { PoolMember } from '../engine/protocol/index.js';
import { choosePlacement } from '../engine/shell/placement.js';

// Where the pool puts a new sale: the engine with the fewest sales that has room, ties to the
// smallest WAL id (every engine of the pool decides alike); a pinned request gets its WAL or a
// refusal, never another engine.

const member = (walId: string, sales: number, room = 10): PoolMember => ({
  walId,
  engineId: `engine-${walId}`,
  host: 'h',
  pid: 1,
  sales,
  room,
});

t.test('examples', async (t) => {
  t.match(choosePlacement([member('b', 2), member('a', 3), member('c', 1)]), {
    ok: true,
    member: { walId: 'c' },
  });
  t.match(choosePlacement([member('b', 1), member('a', 1)]), { member: { walId: 'a' } }, 'a tie');
  t.match(choosePlacement([member('a', 0, 0), member('b', 5)]), { member: { walId: 'b' } }, 'full');
  t.match(choosePlacement([]), { ok: false, why: /no engine of the pool has room/ });
  t.match(choosePlacement([member('a', 0), member('b', 9)], 'b'), { member: { walId: 'b' } });
  t.match(choosePlacement([member('a', 0)], 'z'), { ok: false, why: /on WAL z/ });
  t.match(choosePlacement([member('z', 0, 0)], 'z'), { ok: false }, 'pinned to a full engine');
});

t.test('properties: the least loaded with room, whatever the order', async (t) => {
  const pool = fc.uniqueArray(
    fc.record({
      walId: fc.stringMatching(/^[a-f0-9]{1,8}$/),
      sales: fc.nat(50),
      room: fc.nat(3),
    }),
    { selector: (m) => m.walId, maxLength: 12 },
  );
  fc.assert(
    fc.property(pool, (raw) => {
      const members = raw.map((m) => member(m.walId, m.sales, m.room));
      const chosen = choosePlacement(members);
      const open = members.filter((m) => m.room > 0);
      if (!chosen.ok) return open.length === 0;
      const reversed = choosePlacement([...members].reverse());
      return (
        chosen.member.room > 0 &&
        open.every((m) => m.sales >= chosen.member.sales) &&
        reversed.ok &&
        reversed.member.walId === chosen.member.walId
      );
    }),
  );
  t.pass('held');
});
