import { startLocalStack } from '../../scripts/stack/local-stack.js';
import { startBenchServer } from '../bench-process.js';
import { LOAD_GENERATOR, processGroup } from '../compare/cpu-usage.js';
import type { Target } from './rows.js';

// The stack of bench:http's main rows, started directly rather than through `npm start`: a
// private nats-server, one engine serving the bench's sales, one gateway logging warnings only;
// and the baseline, a bare Fastify route in a process of its own, as the gateway is.
// The gateway's per-customer rate limit and its load shedding are set out of reach: their
// refusals would be fast non-answers, not the path measured (the realistic mix, one request per
// customer, never meets the rate limit anyway; the repeating customers' row would).

const GATEWAY_ENV = {
  RATE_LIMIT_MAX: '1000000',
  ENGINE_INFLIGHT_MAX: '1000000',
  EVENT_LOOP_DELAY_MS_MAX: '60000',
};
/** A burst of 1,000 connections' orders all lands in the engine's mailbox at once. */
const ENGINE_ENV = { MAILBOX_COMMANDS_MAX: '65536' };

export interface DirectStack {
  readonly gateway: Target;
  readonly engineMetricsUrl: string;
  stop(): Promise<void>;
}

/** The baseline: a bare Fastify route in a process of its own (bench/bare-http-server.ts). */
export async function startBareRoute(): Promise<Target & { stop(): void }> {
  const bare = await startBenchServer('bare-http-server.js');
  return {
    url: bare.url,
    processes: [processGroup('bare server', bare.child), LOAD_GENERATOR],
    stop: () => bare.child.kill('SIGTERM'),
  };
}

export async function startDirectStack(
  jwtSecret: string,
  sales: readonly string[],
): Promise<DirectStack> {
  const stack = await startLocalStack({
    sales,
    gateways: 1,
    jwtSecret,
    gatewayEnv: GATEWAY_ENV,
    engineEnv: ENGINE_ENV,
  });
  try {
    const engineMetricsUrl = `http://127.0.0.1:${await stack.engine.metricsPort()}/metrics`;
    return {
      gateway: {
        url: stack.gatewayUrls[0]!,
        processes: [
          processGroup('gateway', { pid: stack.gateways[0]?.pid }),
          processGroup('engine', stack.engine),
          processGroup('nats-server', { pid: stack.natsPid }),
          LOAD_GENERATOR,
        ],
      },
      engineMetricsUrl,
      stop: () => stack.stop(),
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}
