import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServerProcess } from '../../scripts/stack/nats-server.js';
import { forkBenchProcess, nextMessage, startBenchServer } from '../bench-process.js';
import { LOAD_GENERATOR, type ProcessGroup, processGroup } from '../compare/cpu-usage.js';

// The processes of bench:http-floor and its rows: a private nats-server, the two responders
// (echo, durable), the bare route, and relay servers in front of the responders (bench/floor/*).
// A row names where its load goes, the status every reply must have, and whose CPU it reads.

/** How long a row's JetStream backlog may take to drain before the bench gives up. */
const DRAIN_WAIT_MS_MAX = 60_000;

export const ROWS = [
  'bare',
  'relay, echo',
  'relay, durable',
  'contract, durable',
  'contract, sold out',
] as const;
export type RowName = (typeof ROWS)[number];

export interface FloorRow {
  readonly url: string;
  readonly saleId: string;
  readonly status: number;
  readonly groups: readonly ProcessGroup[];
  /** The durable responder, whose JetStream backlog must drain before the next row. */
  readonly responder?: ChildProcess;
}

export interface Floors {
  readonly rows: Readonly<Record<RowName, FloorRow>>;
  stop(): Promise<void>;
}

/** Waits until the durable responder has published every order of the row before. */
export async function drained(responder: ChildProcess | undefined): Promise<void> {
  if (responder === undefined) return;
  responder.send('drain');
  const reply = await nextMessage(responder, 'the durable responder', DRAIN_WAIT_MS_MAX);
  if (reply !== 'drained') throw new Error(`the durable responder answered ${String(reply)}`);
}

export async function startFloors(jwtSecret: string): Promise<Floors> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-floor-'));
  const nats = await NatsServerProcess.start({ storeDir: join(dir, 'nats') });
  const env = { ...process.env, NATS_URL: nats.url, FLOOR_DIR: dir, FLOOR_JWT_SECRET: jwtSecret };
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of children) child.kill('SIGTERM');
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  };
  const started = async <T extends { child: ChildProcess }>(starting: Promise<T>): Promise<T> => {
    const running = await starting;
    children.push(running.child);
    return running;
  };
  const responder = async (mode: 'echo' | 'durable') =>
    (await started(forkBenchProcess('floor/journal-responder.js', { env, args: [mode] }))).child;
  const server = (file: string, extra: NodeJS.ProcessEnv = {}) =>
    started(startBenchServer(file, { ...env, ...extra }));
  try {
    const echo = await responder('echo');
    const durable = await responder('durable');
    const http = {
      bare: await server('bare-http-server.js'),
      relayEcho: await server('floor/relay-server.js', { FLOOR_MODE: 'echo' }),
      relayDurable: await server('floor/relay-server.js', { FLOOR_MODE: 'durable' }),
      contract: await server('floor/relay-server.js', {
        FLOOR_MODE: 'durable',
        FLOOR_CONTRACT: '1',
      }),
    };
    return { rows: rowsOf(http, { echo, durable }, nats), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

type Server = { readonly url: string; readonly child: ChildProcess };

function rowsOf(
  http: Readonly<Record<'bare' | 'relayEcho' | 'relayDurable' | 'contract', Server>>,
  responders: { readonly echo: ChildProcess; readonly durable: ChildProcess },
  nats: NatsServerProcess,
): Record<RowName, FloorRow> {
  const alone = (server: Server): ProcessGroup[] => [
    processGroup('http', server.child),
    LOAD_GENERATOR,
  ];
  const relayed = (server: Server, to: ChildProcess): ProcessGroup[] => [
    processGroup('http', server.child),
    processGroup('responder', to),
    processGroup('nats-server', nats),
    LOAD_GENERATOR,
  ];
  const open = { saleId: 'open', status: 201 };
  const { echo, durable } = responders;
  return {
    bare: { ...open, url: http.bare.url, groups: alone(http.bare) },
    'relay, echo': { ...open, url: http.relayEcho.url, groups: relayed(http.relayEcho, echo) },
    'relay, durable': {
      ...open,
      url: http.relayDurable.url,
      groups: relayed(http.relayDurable, durable),
      responder: durable,
    },
    'contract, durable': {
      ...open,
      url: http.contract.url,
      groups: relayed(http.contract, durable),
      responder: durable,
    },
    'contract, sold out': {
      saleId: 'sold-out',
      status: 409,
      url: http.contract.url,
      groups: alone(http.contract),
    },
  };
}
