import t from 'tap';
import { joinQueue, solveFor } from '../scripts/burst/waiting-room.js';
import { LiveClient } from './helpers/http-checks.js';
import { startEngine } from './helpers/nats.js';
import { http, startStack } from './helpers/stack.js';

// Positions and admissions survive kill -9 of the engine mid-queue (I9): after the restart
// (recovery replays the log) every ticket, every admission and the draw are as they were, the
// queue goes on from where it stood, and the rate holds across the crash (no catch-up burst).

const SALE = 'wcrash';
const CUSTOMERS = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'];
const ADMIT_PER_SECOND = 1;
const DRAW_IN_MS = 2_000;

interface Place {
  readonly entryId: string;
  readonly ticket: number;
  readonly admittedAt?: string;
}

t.test('kill -9 mid-queue: the same tickets, admissions and draw', async (t) => {
  const stack = await startStack(t, {
    sales: [SALE],
    gatewayEnv: { POW_ATTEMPTS_MAX: '20', POW_COST: '1', RATE_LIMIT_MAX: '1000' },
  });
  const [gateway] = stack.gateways.map((g) => g.url) as [string];
  const now = Date.now();
  const created = await http(`${gateway}/v1/admin/sales/${SALE}`, {
    method: 'PUT',
    token: stack.adminToken,
    body: {
      name: 'Crash',
      stock: 100,
      perCustomerLimit: 1,
      startsAt: new Date(now + DRAW_IN_MS).toISOString(),
      waitingRoom: {
        lobbyOpensAt: new Date(now).toISOString(),
        admitPerSecond: ADMIT_PER_SECOND,
        admissionTtlS: 600,
      },
    },
  });
  t.equal(created.status, 201);
  for (const customer of CUSTOMERS) {
    const token = stack.token(customer);
    const joined = await joinQueue(gateway, token, SALE, await solveFor(gateway, token, SALE));
    t.equal(joined.status, 202, `${customer} joins`);
  }
  const live = await LiveClient.open(`${gateway.replace('http', 'ws')}/v1/sales/${SALE}/live`);
  await live.next((m) => m.type === 'queue' && m.serving >= 2);
  live.close();

  const places = async (): Promise<Map<string, Place>> => {
    const found = new Map<string, Place>();
    for (const customer of CUSTOMERS) {
      const me = await http(`${gateway}/v1/sales/${SALE}/queue/me`, {
        token: stack.token(customer),
      });
      found.set(customer, me.body);
    }
    return found;
  };
  const before = await places();
  const drawBefore = (await http(`${gateway}/v1/sales/${SALE}/draw`)).body;
  await stack.engine.kill('SIGKILL');
  await startEngine(t, { natsUrl: stack.nats.url, walDir: stack.walDir, sales: [SALE] });

  const after = await places();
  for (const customer of CUSTOMERS) {
    const was = before.get(customer) as Place;
    const is = after.get(customer) as Place;
    t.equal(is.ticket, was.ticket, `${customer}: the same ticket`);
    t.equal(is.entryId, was.entryId, `${customer}: the same entry`);
    if (was.admittedAt !== undefined)
      t.equal(is.admittedAt, was.admittedAt, `${customer}: the same admission`);
  }
  t.same((await http(`${gateway}/v1/sales/${SALE}/draw`)).body, drawBefore, 'the same draw');

  const resumed = await LiveClient.open(`${gateway.replace('http', 'ws')}/v1/sales/${SALE}/live`);
  t.teardown(() => resumed.close());
  const admittedBefore = [...before.values()].filter((p) => p.admittedAt !== undefined).length;
  await resumed.next((m) => m.type === 'queue' && m.serving >= admittedBefore + 2);
  const admissions = [...(await places()).values()]
    .filter((p) => p.admittedAt !== undefined)
    .sort((x, y) => x.ticket - y.ticket)
    .map((p) => Date.parse(p.admittedAt as string));
  for (let i = 1; i < admissions.length; i += 1) {
    t.ok((admissions[i] as number) >= (admissions[i - 1] as number), 'admitted in ticket order');
    const within = admissions.filter(
      (at) => at > (admissions[i] as number) - 1_000 && at <= (admissions[i] as number),
    );
    t.ok(within.length <= ADMIT_PER_SECOND, `never more than ${ADMIT_PER_SECOND} within a second`);
  }
});
