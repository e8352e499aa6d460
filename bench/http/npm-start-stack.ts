import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { JWT_SECRET_DEVELOPMENT } from '../../gateway/config.js';
import { mintToken } from '../../scripts/client/tokens.js';
import { FREE_PORT_MIN, freePort } from '../../scripts/stack/free-port.js';
import { PROJECT_ROOT } from '../../scripts/stack/service-process.js';
import type { ProcessGroup } from '../compare/cpu-usage.js';
import { descendantsOf, environmentOf, type ProcessInfo } from '../process-tree.js';

// `npm start`'s own stack, as a user gets it: `node dist/scripts/dev-stack.js` with nothing tuned.
// Only what must not collide with anything else on this machine is set: the ports (free ones,
// so that it starts a nats-server of its own rather than use a shared one) and a temporary data
// directory. Ready once it prints its first `gateway: http://…` line; its processes are found
// as its descendants, by their command lines, to read their CPU.

const READY_WAIT_MS_MAX = 90_000;
/** `npm start` promises to be gone 5 s after SIGTERM; past that it is SIGKILLed. */
const STOP_WAIT_MS_MAX = 10_000;
/** What is kept of its output, for the error when it fails to start. */
const OUTPUT_TAIL_CHARS_MAX = 8_000;
/** Descendants are read once per CPU reading, not once per group. */
const DESCENDANTS_FRESH_MS = 100;
const GATEWAY_LINE = /^gateway: (http:\/\/\S+)/m;

export interface NpmStartStack {
  /** Its first gateway, the one `PORT` names. */
  readonly gatewayUrl: string;
  readonly engineMetricsUrl: string;
  /** An admin token its gateways accept (npm start's development secret). */
  readonly adminToken: string;
  /** Its gateways, engine and nats-server (the server), and its other processes apart. */
  readonly processes: readonly ProcessGroup[];
  stop(): Promise<void>;
}

interface Role {
  readonly name: string;
  readonly server: boolean;
  readonly is: (p: ProcessInfo) => boolean;
}

const isGateway = (p: ProcessInfo): boolean => p.commandLine.includes('/gateway/main.js');

/**
 * The roles of npm start's processes, by their command line; the gateway the load goes to apart
 * from the others, which take their share of every order too (stock and status fan-out).
 */
const rolesOf = (loadedPort: string): readonly Role[] => [
  {
    name: 'loaded gateway',
    server: true,
    is: (p) => isGateway(p) && environmentOf(p.pid, 'PORT') === loadedPort,
  },
  {
    name: 'other gateways',
    server: true,
    is: (p) => isGateway(p) && environmentOf(p.pid, 'PORT') !== loadedPort,
  },
  { name: 'engine', server: true, is: (p) => p.commandLine.includes('/engine/main.js') },
  {
    name: 'nats-server',
    server: true,
    is: (p) => basename(p.commandLine.split(' ')[0] ?? '') === 'nats-server',
  },
  {
    name: 'shipping agent',
    server: false,
    is: (p) => p.commandLine.includes('/shipping-agent/main.js'),
  },
  {
    name: 'fake carrier',
    server: false,
    is: (p) => p.commandLine.includes('/fake-carrier/main.js'),
  },
];

/** Two free ports in a row: the dev stack's gateways listen on PORT and PORT+1. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if ((await freePort(port + 1 - FREE_PORT_MIN)) === port + 1) return port;
  }
}

/** npm start's settings: free ports, so that it starts a nats-server of its own, and `dataDir`. */
export async function npmStartSettings(dataDir: string): Promise<Record<string, string>> {
  const natsPort = await freePort();
  return {
    PORT: String(await freePortPair()),
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    WAL_DIR: join(dataDir, 'wal'),
    ENGINE_METRICS_PORT: String(await freePort()),
    AGENT_METRICS_PORT: String(await freePort()),
    CARRIER_PORT: String(await freePort()),
  };
}

export async function startNpmStartStack(): Promise<NpmStartStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-npm-start-'));
  const env = await npmStartSettings(dataDir);
  // Only PATH (to find nodes and nats-server) from our environment: no setting of ours leaks in.
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/scripts/dev-stack.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.NATS_SERVER_BIN === undefined
        ? {}
        : { NATS_SERVER_BIN: process.env.NATS_SERVER_BIN }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const gatewayUrl = await readyGateway(child);
    return {
      gatewayUrl,
      engineMetricsUrl: `http://127.0.0.1:${env.ENGINE_METRICS_PORT}/metrics`,
      adminToken: mintToken(JWT_SECRET_DEVELOPMENT, { sub: 'bench-admin', role: 'admin' }),
      processes: groupsOf(child.pid!, rolesOf(env.PORT!)),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Its first gateway's URL, once printed; fails with its output if it exits or takes too long. */
async function readyGateway(child: ChildProcess): Promise<string> {
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS_MAX);
  };
  child.stderr?.on('data', keep);
  const printed = new Promise<string>((resolve) => {
    const look = (chunk: Buffer): void => {
      keep(chunk);
      const url = GATEWAY_LINE.exec(output)?.[1];
      if (url !== undefined) resolve(url);
    };
    // Read on after that too: a pipe nobody reads would block it once full.
    child.stdout?.on('data', look);
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`npm start's stack exited (${code ?? signal}) before it was ready:\n${output}`);
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`npm start's stack not ready in ${READY_WAIT_MS_MAX} ms:\n${output}`)),
      READY_WAIT_MS_MAX,
    );
  });
  try {
    return await Promise.race([printed, exited, late]);
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

function groupsOf(root: number, roles: readonly Role[]): ProcessGroup[] {
  let seen: { at: number; processes: ProcessInfo[] } = { at: -Infinity, processes: [] };
  const descendants = (): ProcessInfo[] => {
    if (Date.now() - seen.at > DESCENDANTS_FRESH_MS)
      seen = { at: Date.now(), processes: descendantsOf(root) };
    return seen.processes;
  };
  const roleOf = (p: ProcessInfo) => roles.find((role) => role.is(p));
  return [
    ...roles.map((role) => ({
      name: role.name,
      server: role.server,
      pids: () =>
        descendants()
          .filter((p) => roleOf(p) === role)
          .map((p) => p.pid),
    })),
    {
      // The dev stack's own node and nats-server's keeper: they serve no request.
      name: 'npm start launcher',
      server: false,
      pids: () => [
        root,
        ...descendants()
          .filter((p) => roleOf(p) === undefined)
          .map((p) => p.pid),
      ],
    },
  ];
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_WAIT_MS_MAX);
  await exited;
  clearTimeout(timer);
}
