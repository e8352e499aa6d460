import { setTimeout as delay } from 'node:timers/promises';
import { requestJson } from '../client/http-json.js';
import { freePort } from './free-port.js';
import { ServiceProcess } from './service-process.js';

// A gateway process that logs warnings and worse only. At the default level Fastify logs two
// lines per request, and a ServiceProcess parses every line its child writes: under a benchmark's
// load that parsing would run in the load generator and measure the harness, not the gateway.
// Without the "gateway listening" line, the gateway is ready when GET /health/ready says so.

const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;

/** `GATEWAY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` profiles the gateways of a run. */
function nodeFlags(): string[] {
  return process.env.GATEWAY_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
}

export interface QuietGatewayOptions {
  readonly natsUrl: string;
  readonly jwtSecret: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface QuietGateway {
  readonly url: string;
  readonly process: ServiceProcess;
}

export async function startQuietGateway(options: QuietGatewayOptions): Promise<QuietGateway> {
  const port = await freePort();
  const service = new ServiceProcess({
    main: 'gateway/main.js',
    nodeFlags: nodeFlags(),
    env: {
      NATS_URL: options.natsUrl,
      JWT_SECRET: options.jwtSecret,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  let exited: string | null = null;
  void service.exited.then(({ code, signal }) => {
    exited = `exited (${code ?? signal})`;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) break;
    try {
      if ((await requestJson(`${url}/health/ready`)).status === 200)
        return { url, process: service };
    } catch {
      // Not listening yet.
    }
    await delay(READY_POLL_MS);
  }
  await service.kill();
  const why = exited ?? `not ready after ${READY_TIMEOUT_MS} ms`;
  const logs = service.logs.map((line) => line.msg).join('; ');
  throw new Error(`gateway on port ${port} ${why}; logged: ${logs || 'nothing'}`);
}
