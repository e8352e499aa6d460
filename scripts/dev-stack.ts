import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { AgentProcess } from './lib/agent-process.js';
import { CarrierProcess } from './lib/carrier-process.js';
import { EngineClient } from './lib/engine-client.js';
import { EngineProcess } from './lib/engine-process.js';
import { GatewayProcess } from './lib/gateway-process.js';
import { NATS_SERVER_BINARY, NatsServerProcess } from './lib/nats-server.js';
import { ServiceProcess } from './lib/service-process.js';
import { mintToken } from './lib/tokens.js';

// `npm start`: the whole stack that exists so far on one machine. Uses the NATS at NATS_URL when
// one answers, else starts a local `nats-server -js` with its store beside WAL_DIR; runs the
// engine, two gateways (PORT, PORT+1), the shipping agent and a fake carrier; creates the demo
// sale on first run; prints the live page's address with a demo customer's token. The data
// survives a restart as long as WAL_DIR is kept.
//
// Every child runs in a process group of its own (a terminal's Ctrl-C reaches only this script,
// which stops them in order), so nothing else would ever stop them: whatever happens — a failed
// start, Ctrl-C or a closed terminal at any moment, a child dying — this script stops everything
// it started, in reverse order, before it exits. A second Ctrl-C SIGKILLs what is left.

const NATS_PROBE_TIMEOUT_MS = 1_000;
/**
 * SIGTERM, then SIGKILL after this long, per process: longer than the agent's default
 * SHUTDOWN_GRACE_MS (20 s), so no service's own graceful stop is cut short.
 */
const STOP_TIMEOUT_MS = 25_000;
/** Flushing our own NATS connection on the way out; with NATS gone it would never drain. */
const DRAIN_TIMEOUT_MS = 2_000;
/** How often we look whether our own nats-server still runs (it has no exit event to await). */
const NATS_WATCH_INTERVAL_MS = 500;
/** The dev engine's lease: short, so a restarted `npm start` takes its sales back quickly. */
const LEASE_TTL_MS_DEV = 3_000;
const EXIT_FAILED = 1;
/** A second Ctrl-C: 128 + SIGINT, as a shell reports a process killed by it. */
const EXIT_FORCED = 130;
const ENGINE_METRICS_PORT_DEFAULT = 9464;
const GATEWAY_PORT_DEFAULT = 3000;
const CARRIER_PORT_DEFAULT = 4000;
const AGENT_METRICS_PORT_DEFAULT = 9465;
const gatewayCount = Number(process.env.GATEWAYS ?? 2);
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const walDir = resolve(process.env.WAL_DIR ?? './data/wal');
const sales = (process.env.ENGINE_SALES ?? 'demo').split(',');
const demoSale = sales[0]!;
const jwtSecret = process.env.JWT_SECRET ?? JWT_SECRET_DEVELOPMENT;

/** Our own nats-server, once started (null while none, or when NATS_URL already answered). */
let ownNats: NatsServerProcess | null = null;
/** Our own nats-server while it starts: a stop must wait for it to have something to stop. */
let natsStarting: Promise<unknown> = Promise.resolve();
let nc: NatsConnection | null = null;
/** Set by the first stop request; every later step of the start gives up when it is. */
let stopping: Promise<never> | null = null;

/** Thrown by a start step once a stop was asked for: not a failure to report. */
class StopRequested extends Error {}

/** A failure whose message says it all: printed on one line, without a stack. */
class StartError extends Error {}

function checkNotStopping(): void {
  if (stopping !== null) throw new StopRequested('stopping');
}

// ---- stopping -----------------------------------------------------------------------------

/** SIGTERM, then SIGKILL if it is still there after STOP_TIMEOUT_MS. */
async function stopService(service: ServiceProcess): Promise<void> {
  const timer = setTimeout(() => {
    console.error(`${service.main} (pid ${service.pid}) did not stop in time: SIGKILL`);
    void service.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  await service.kill('SIGTERM');
  clearTimeout(timer);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Drains our connection, or closes it: NATS may be gone already (that is why we stop). */
async function closeNats(): Promise<void> {
  if (nc === null) return;
  const connection = nc;
  nc = null;
  try {
    await withTimeout(connection.drain(), DRAIN_TIMEOUT_MS);
  } catch {
    await connection.close().catch(() => {});
  }
}

/**
 * Reverse start order: gateways (they finish their requests), the agent, the carrier, the engine
 * (it flushes its WAL), then our connection and our nats-server. Asks the newest process still
 * running each time, so one the start spawned meanwhile is stopped too.
 */
async function stopAll(): Promise<void> {
  for (let last = newestService(); last !== undefined; last = newestService())
    await stopService(last);
  await closeNats();
  await natsStarting.catch(() => {});
  await ownNats?.stop(); // SIGKILL after nats-server.ts's own stop timeout
}

function newestService(): ServiceProcess | undefined {
  return [...ServiceProcess.running].at(-1);
}

/** Stops everything once (later calls share the first), then exits with `code`. */
function stopAndExit(code: number): Promise<never> {
  stopping ??= stopAll()
    .catch((error: unknown) => console.error(`while stopping: ${messageOf(error)}`))
    .then(() => {
      console.log('stopped');
      process.exit(code);
    });
  return stopping;
}

/** SIGKILL for whatever still runs, at once; a nats-server still starting first gets ready. */
async function killAndExit(): Promise<never> {
  killEverythingNow();
  await natsStarting.catch(() => {});
  killEverythingNow();
  process.exit(EXIT_FORCED);
}

/** Synchronous, so it also works from an 'exit' handler. */
function killEverythingNow(): void {
  for (const service of ServiceProcess.running) void service.kill('SIGKILL');
  void ownNats?.kill();
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping === null) {
    console.log(`${signal}: stopping… (Ctrl-C again kills everything at once)`);
    void stopAndExit(0);
  } else {
    console.error(`${signal} again: killing what still runs`);
    void killAndExit();
  }
}

/** Installed before anything is spawned: there is no moment at which we could leak children. */
function installHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // After SIGHUP the terminal is gone and writes to it fail (EIO): stopping must go on.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  for (const event of ['uncaughtException', 'unhandledRejection'] as const)
    process.on(event, (error: unknown) => {
      console.error(`npm start: unexpected error: ${messageOf(error)}`);
      void stopAndExit(EXIT_FAILED);
    });
  // The last resort, should the process leave by a path not foreseen here.
  process.on('exit', killEverythingNow);
}

// ---- starting -----------------------------------------------------------------------------

async function probe(url: string): Promise<NatsConnection | null> {
  try {
    return await connect({
      servers: url,
      timeout: NATS_PROBE_TIMEOUT_MS,
      maxReconnectAttempts: -1,
    });
  } catch {
    return null;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether `binary` would run: a path as given, a bare name found on the PATH. */
function runnable(binary: string): boolean {
  if (binary.includes('/')) return isExecutableFile(binary);
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.some((dir) => isExecutableFile(join(dir, binary)));
}

/** Connects to the NATS at NATS_URL, starting our own nats-server there when none answers. */
async function connectNats(): Promise<NatsConnection> {
  const existing = await probe(natsUrl);
  if (existing !== null) {
    console.log(`using the NATS server at ${natsUrl}`);
    return existing;
  }
  if (!runnable(NATS_SERVER_BINARY))
    throw new StartError(
      `no NATS answers at ${natsUrl} and there is no \`${NATS_SERVER_BINARY}\` to start one: ` +
        'install nats-server (Debian: apt-get install -y nats-server, into /usr/sbin) and put it ' +
        'on the PATH, or set NATS_SERVER_BIN, or NATS_URL to a NATS with JetStream',
    );
  checkNotStopping();
  const port = Number(new URL(natsUrl).port || 4222);
  const storeDir = join(dirname(walDir), 'nats');
  const starting = NatsServerProcess.start({ port, storeDir, ownProcessGroup: true });
  natsStarting = starting;
  ownNats = await starting;
  console.log(`started nats-server -js on ${ownNats.url} (pid ${ownNats.pid}, store ${storeDir})`);
  const connection = await probe(ownNats.url);
  if (connection === null)
    throw new StartError(`nats-server started but ${ownNats.url} does not answer`);
  return connection;
}

/** The engine's refusal when the NATS keeps leases for another TTL, with the way out. */
function leaseTtlHint(message: string): string | null {
  const match = /lease bucket \S+ expires keys after (\d+) ms but LEASE_TTL_MS is (\d+)/.exec(
    message,
  );
  if (match === null) return null;
  return (
    `the NATS at ${natsUrl} keeps sale leases for ${match[1]} ms (an engine with that ` +
    `LEASE_TTL_MS made the bucket) and every engine on it must agree: run ` +
    `\`LEASE_TTL_MS=${match[1]} npm start\``
  );
}

/**
 * A child that could not listen dumps a stack trace (EADDRINUSE); this says which setting moves
 * it. Other failures pass through as they are.
 */
function portInUse(who: string, setting: string): (error: unknown) => never {
  return (error) => {
    const address = /EADDRINUSE: address already in use (\S+)/.exec(messageOf(error))?.[1];
    if (address === undefined) throw error;
    throw new StartError(`${who} cannot listen on ${address}, which is in use: set ${setting}`);
  };
}

async function startEngine(): Promise<EngineProcess> {
  checkNotStopping();
  // A new WAL directory means a new demo. A NATS that outlived an earlier one (a shared server, a
  // kept store) still names that earlier WAL as the demo sale's home, and the engine would refuse
  // the sale (sale-homes.ts): here, unlike in production, starting it anew is what is wanted.
  const newWal = !existsSync(join(walDir, 'identity.json'));
  const engine = await EngineProcess.start({
    natsUrl,
    walDir,
    sales,
    ownProcessGroup: true,
    env: {
      ENGINE_SALES: sales.join(','),
      // The user's value when set: the NATS's lease bucket may have been made with another one.
      LEASE_TTL_MS: process.env.LEASE_TTL_MS ?? String(LEASE_TTL_MS_DEV),
      ENGINE_METRICS_PORT: process.env.ENGINE_METRICS_PORT ?? String(ENGINE_METRICS_PORT_DEFAULT),
      ...(newWal ? { ENGINE_SALES_ADOPT: sales.join(',') } : {}),
    },
  })
    .catch((error: unknown) => {
      const hint = leaseTtlHint(messageOf(error));
      throw hint === null ? error : new StartError(`the engine refused to start: ${hint}`);
    })
    .catch(portInUse('the engine', 'ENGINE_METRICS_PORT'));
  console.log(`engine serving ${sales.join(', ')} (pid ${engine.pid}, WAL ${walDir})`);
  if (newWal)
    console.log(
      `a new WAL: ${sales.join(', ')} start(s) afresh here, whatever this NATS remembers`,
    );
  console.log(`engine metrics: http://127.0.0.1:${await engine.metricsPort()}/metrics`);
  return engine;
}

// The fake carrier stands in for the real one: CARRIER_FAILURE_RATE, CARRIER_LATENCY_MS_MAX, …
// (see the README) make it misbehave, so the live page shows delays and retries.
async function startCarrier(): Promise<CarrierProcess> {
  checkNotStopping();
  const carrier = await CarrierProcess.start({
    ownProcessGroup: true,
    env: {
      CARRIER_PORT: process.env.CARRIER_PORT ?? String(CARRIER_PORT_DEFAULT),
      CARRIER_HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
  }).catch(portInUse('the fake carrier', 'CARRIER_PORT'));
  console.log(`fake carrier: ${carrier.url} (pid ${carrier.pid})`);
  return carrier;
}

async function startAgent(carrier: CarrierProcess): Promise<AgentProcess> {
  checkNotStopping();
  const agent = await AgentProcess.start({
    natsUrl,
    carrierUrl: process.env.CARRIER_URL ?? carrier.url,
    ownProcessGroup: true,
    env: {
      AGENT_METRICS_PORT: process.env.AGENT_METRICS_PORT ?? String(AGENT_METRICS_PORT_DEFAULT),
    },
  }).catch(portInUse('the shipping agent', 'AGENT_METRICS_PORT'));
  console.log(`shipping agent pulling (pid ${agent.pid}, metrics :${await agent.metricsPort()})`);
  return agent;
}

async function startGateways(): Promise<GatewayProcess[]> {
  checkNotStopping();
  const firstPort = Number(process.env.PORT ?? GATEWAY_PORT_DEFAULT);
  return Promise.all(
    Array.from({ length: gatewayCount }, (_, i) =>
      GatewayProcess.start({
        natsUrl,
        jwtSecret,
        port: firstPort + i,
        ownProcessGroup: true,
        env: { HOST: process.env.HOST ?? '127.0.0.1', GATEWAY_ID: `gateway-${i + 1}` },
      }).catch(portInUse(`gateway ${i + 1}`, 'PORT (gateways listen on PORT, PORT+1, …)')),
    ),
  );
}

async function ensureDemoSale(connection: NatsConnection): Promise<void> {
  const client = new EngineClient(connection);
  const existing = await client.query(demoSale, { type: 'GetSale' });
  if (!existing.ok) {
    await client.configureSale(demoSale, {
      name: 'Demo flash sale',
      stock: 100,
      perCustomerLimit: 2,
    });
    console.log(`created the demo sale "${demoSale}": 100 units, at most 2 per customer`);
  }
  console.log('sale:', JSON.stringify(await client.sale(demoSale)));
}

function printWelcome(gateways: readonly GatewayProcess[]): void {
  const customerToken = mintToken(jwtSecret, { sub: 'demo-customer' });
  const adminToken = mintToken(jwtSecret, { sub: 'demo-admin', role: 'admin' });
  for (const gateway of gateways) console.log(`gateway: ${gateway.url} (pid ${gateway.pid})`);
  console.log(`
live page (demo customer signed in):
  ${gateways[0]!.url}/?sale=${demoSale}#token=${customerToken}

demo customer token:
  ${customerToken}
admin token:
  ${adminToken}

place an order:
  curl -s -X POST ${gateways[0]!.url}/v1/sales/${demoSale}/orders \\
    -H "authorization: Bearer ${customerToken}" \\
    -H 'content-type: application/json' -H "idempotency-key: $(date +%s%N)" -d '{"quantity":1}'

Ctrl-C stops the stack; run \`npm start\` again and the orders are still there.`);
}

// ---- running ------------------------------------------------------------------------------

interface Exit {
  readonly who: string;
  /** Its exit code or signal, when known. */
  readonly how?: string;
}

function exitOf(who: string, service: ServiceProcess): Promise<Exit> {
  return service.exited.then(({ code, signal }) => ({ who, how: String(code ?? signal) }));
}

/** Resolves when our own nats-server has exited (never when NATS_URL was someone else's). */
function natsExit(): Promise<Exit> {
  const server = ownNats;
  if (server === null) return new Promise(() => {});
  const pid = server.pid;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (server.pid !== undefined) return;
      clearInterval(timer);
      resolve({ who: `nats-server (pid ${pid})` });
    }, NATS_WATCH_INTERVAL_MS);
  });
}

/** Runs until a signal stops the stack, or one of its processes dies: then stops the rest. */
async function watch(
  engine: EngineProcess,
  carrier: CarrierProcess,
  agent: AgentProcess,
  gateways: readonly GatewayProcess[],
): Promise<never> {
  const exit = await Promise.race([
    natsExit(),
    exitOf('engine', engine),
    exitOf('shipping agent', agent),
    exitOf('fake carrier', carrier),
    ...gateways.map((gateway, i) => exitOf(`gateway ${i + 1}`, gateway)),
  ]);
  if (stopping !== null) return stopping;
  const how = exit.how === undefined ? '' : ` (${exit.how})`;
  console.error(`${exit.who} exited unexpectedly${how}: stopping the rest`);
  return stopAndExit(EXIT_FAILED);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<never> {
  installHandlers();
  try {
    nc = await connectNats();
    const engine = await startEngine();
    const carrier = await startCarrier();
    const agent = await startAgent(carrier);
    const gateways = await startGateways();
    checkNotStopping();
    await ensureDemoSale(nc);
    printWelcome(gateways);
    return await watch(engine, carrier, agent, gateways);
  } catch (error) {
    if (stopping !== null) return stopping; // a signal or a dead child stopped the start
    const prefix = error instanceof StartError ? 'npm start' : 'npm start failed';
    console.error(`${prefix}: ${messageOf(error)}`);
    return stopAndExit(EXIT_FAILED);
  }
}

await main();
