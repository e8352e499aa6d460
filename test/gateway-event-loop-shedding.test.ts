import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { EngineClient } from '../scripts/client/engine-client.js';
import {
  expectError,
  expectRetryAfter,
  metricValue,
  scrapeMetrics,
} from './helpers/http-checks.js';
import { createSale, http, startGateway, startStack } from './helpers/stack.js';

// Load shedding on event-loop lag (EVENT_LOOP_DELAY_MS_MAX), through a real gateway process: the
// test stops it (SIGSTOP) for a few seconds, as a long GC pause or a starved CPU would, and
// then it must answer OVERLOADED with Retry-After for a while — a refused order changing
// nothing — keep its operations routes open, count what it shed, and recover by itself.

const SALE = 'lag';
/** Low enough that the stall below surely crosses it, high enough that the test's own load won't. */
const LAG_MS_MAX = 25;
/**
 * The stop. The shedder (@fastify/under-pressure) samples the MEAN loop delay over a second of
 * 10 ms ticks, less the 10 ms tick: a stall of S ms, alone among ~100 ticks, reads as
 * about S/100 - 10 ms, so 5 s reads as ~40 ms at the least.
 */
const STALL_MS = 5_000;
/** Pause between probes: a polling interval, not a synchronisation. */
const PROBE_PAUSE_MS = 20;
/** A bound so a gateway that never sheds (or never recovers) fails instead of hanging. */
const PHASE_WAIT_MS_MAX = 15_000;
const RETRY_AFTER_S = 1;

t.test(
  'a stalled gateway sheds with OVERLOADED, keeps operations open, and recovers',
  async (t) => {
    const stack = await startStack(t, { sales: [SALE] });
    await createSale(stack, SALE, { stock: 1_000_000, perCustomerLimit: 1_000_000 });
    const gateway = await startGateway(t, stack.nats.url, {
      EVENT_LOOP_DELAY_MS_MAX: String(LAG_MS_MAX),
      RETRY_AFTER_S: String(RETRY_AFTER_S),
      RATE_LIMIT_MAX: '1000000',
    });
    const token = stack.token('prober');
    let probes = 0;
    let accepted = 0;
    /** An order, and a readiness probe sent with it: both meet the same moment's pressure. */
    const probe = async () => {
      const [reply, ready] = await Promise.all([
        http(`${gateway.url}/v1/sales/${SALE}/orders`, {
          method: 'POST',
          token,
          body: { quantity: 1 },
          headers: { 'idempotency-key': `probe-${probes++}` },
        }),
        http(`${gateway.url}/health/ready`),
      ]);
      if (reply.status === 201) accepted += 1;
      return { reply, ready };
    };
    /** Probes until an order is answered `status` (with the error `code`, if given). */
    const probeUntil = async (status: number, code?: string) => {
      const deadline = Date.now() + PHASE_WAIT_MS_MAX;
      for (;;) {
        const answers = await probe();
        const { reply } = answers;
        if (reply.status === status && (code === undefined || reply.body.error === code))
          return answers;
        if (Date.now() > deadline)
          throw new Error(
            `no ${status} ${code ?? ''} in ${PHASE_WAIT_MS_MAX} ms; last ${reply.status}`,
          );
        await delay(PROBE_PAUSE_MS);
      }
    };
    const shed = async () =>
      metricValue(await scrapeMetrics(gateway.url), 'flashsale_gateway_shed_total', {
        reason: 'event_loop',
      });

    await probeUntil(201);
    const shedBefore = await shed();
    const pid = gateway.pid!;
    process.kill(pid, 'SIGSTOP');
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {}
    });
    await delay(STALL_MS);
    process.kill(pid, 'SIGCONT');

    const { reply: refused, ready } = await probeUntil(503, 'OVERLOADED');
    expectError(t, refused, 503, 'OVERLOADED');
    expectRetryAfter(t, refused.headers, RETRY_AFTER_S, RETRY_AFTER_S);
    t.equal(ready.status, 200, "an orchestrator's /health/ready, sent with it, is not shed");
    t.ok((await shed()) > shedBefore, 'the shed counter counts event_loop refusals');

    await probeUntil(201);
    t.pass('it recovered by itself');

    const customer = await new EngineClient(stack.nc).customer(SALE, 'prober');
    t.equal(customer.orders.length, accepted, 'only the accepted probes placed orders');
  },
);
