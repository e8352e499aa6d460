import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { asMap, parseBlockYaml, type YamlMap, type YamlValue } from './helpers/block-yaml.js';
import { ROLES, type Role, settingsByRole } from './helpers/env-settings.js';
import { type Teardown, tempDir } from './helpers/nats.js';

// The deployment files (Dockerfile, scripts/docker-entrypoint.sh, .dockerignore,
// docker-compose.yml, deploy/haproxy.cfg) and the settings table of docs/operations.md, checked
// without a Docker engine: `docker compose config` when a compose client is installed, and in
// every case by reading the files against the code (every variable name a process really reads,
// with the defaults its config declares). Two behaviours run for real: the image's HEALTHCHECK
// command, and the entrypoint's handling of a WAL lock left by the same container's engine.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const settings = settingsByRole(ROOT);
const namesOf = (role: Role) => new Set(settings[role].map((s) => s.name));
const defaultOf = (role: Role, name: string) =>
  settings[role].find((s) => s.name === name)?.default ?? null;
const ALL_NAMES = new Set(ROLES.flatMap((role) => [...namesOf(role)]));
const ENTRYPOINT = 'scripts/docker-entrypoint.sh';
const ENTRYPOINT_TIMEOUT_MS = 8_000;

t.test('the settings of every process are read from its config file', async (t) => {
  for (const role of ROLES) {
    t.ok(namesOf(role).size >= 8, `${role}: ${namesOf(role).size} settings`);
    t.ok(namesOf(role).has('LOG_LEVEL'), `${role} reads LOG_LEVEL`);
  }
  t.equal(defaultOf('gateway', 'PORT'), '3000');
  t.equal(defaultOf('engine', 'WAL_DIR'), './data/wal');
  t.equal(
    defaultOf('shipping-agent', 'SHIPPING_BACKOFF_MS'),
    '2000,5000,15000,30000,60000,120000,300000',
  );
});

// --- Dockerfile ---------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

function dockerInstructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n\s*/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

const instructions = dockerInstructions(read('Dockerfile'));
const stages: Instruction[][] = [];
for (const instruction of instructions) {
  if (instruction.keyword === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const buildArgs = new Map(
  instructions
    .filter((i) => i.keyword === 'ARG' && i.args.includes('='))
    .map((i) => [i.args.split('=')[0]!, i.args.slice(i.args.indexOf('=') + 1)] as const),
);
const baseImage = (stage: Instruction[]) =>
  stage[0]!.args
    .split(/\s+/)[0]!
    .replace(/^\$\{(\w+)\}$/, (_m, arg: string) => buildArgs.get(arg) ?? '');
const runtime = stages.at(-1) ?? [];
const inRuntime = (keyword: string) => runtime.filter((i) => i.keyword === keyword);
const healthcheck = inRuntime('HEALTHCHECK')[0];
const healthCommand = JSON.parse(healthcheck?.args.replace(/^.*?\bCMD\s+/, '') ?? '[]') as string[];
const entrypointText = read(ENTRYPOINT);
const healthUrlFile = /^HEALTH_URL_FILE=(\S+)$/m.exec(entrypointText)?.[1];

t.test('Dockerfile: multi-stage, production-only runtime, non-root, health check', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`);
  const build = stages[0]!;
  const buildRuns = build.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  t.ok(
    buildRuns.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')),
    'the build stage installs every dependency',
  );
  t.ok(
    buildRuns.some((r) => r.includes('npm run build')),
    'the build stage compiles (npm run build)',
  );

  t.match(baseImage(runtime), /^node:20[\d.]*-(bookworm-)?slim$/, 'the runtime is a slim Node 20');
  const runtimeRuns = inRuntime('RUN').map((i) => i.args);
  t.ok(
    runtimeRuns.some((r) => r.includes('npm ci --omit=dev')),
    'npm ci --omit=dev in the runtime',
  );
  t.notOk(
    runtimeRuns.some((r) => /\bnpm (run build|install)\b/.test(r)),
    'no build or install in the runtime',
  );
  const copies = inRuntime('COPY').map((i) => i.args);
  for (const dir of [
    'dist/engine',
    'dist/wal',
    'dist/service-kit',
    'dist/gateway',
    'dist/shipping-agent',
    'dist/fake-carrier',
    'dist/scripts',
  ])
    t.ok(
      copies.some((c) => c.startsWith('--from=') && c.includes(dir)),
      `${dir} comes from the build stage`,
    );
  t.ok(
    copies.some((c) => c.includes('gateway/public')),
    'gateway/public (the live page) is in the image',
  );
  t.ok(
    copies.some((c) => c.includes(ENTRYPOINT)),
    'the entrypoint is in the image',
  );

  const user = inRuntime('USER').at(-1)?.args;
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `runs as a non-root user (${user})`);
  const order = runtime.map((i) => i.keyword);
  t.ok(order.lastIndexOf('USER') < order.indexOf('ENTRYPOINT'), 'USER comes before ENTRYPOINT');

  t.ok(healthcheck !== undefined, 'a HEALTHCHECK');
  t.equal(healthCommand[0], 'node', 'the health check uses node (no curl in slim images)');
  t.ok(
    healthUrlFile !== undefined && healthCommand.join(' ').includes(healthUrlFile),
    'it reads the URL the entrypoint writes',
  );

  const walDir = /\bWAL_DIR=(\S+)/.exec(
    inRuntime('ENV')
      .map((i) => i.args)
      .join(' '),
  )?.[1];
  t.ok(walDir?.startsWith('/'), `WAL_DIR is an absolute path in the image (${walDir})`);
  t.ok(
    inRuntime('VOLUME').some(
      (v) => v.args.includes(`"${walDir}"`) || v.args.split(/\s+/).includes(walDir!),
    ),
    'the WAL directory is a VOLUME',
  );
  const entrypoint = inRuntime('ENTRYPOINT')[0]?.args ?? '';
  t.ok(entrypoint.includes(ENTRYPOINT), 'ENTRYPOINT runs the role script');
  const defaultRole = (JSON.parse(inRuntime('CMD').at(-1)?.args ?? '[]') as string[])[0];
  t.ok(ROLES.includes(defaultRole as Role), `the default command is a role (${defaultRole})`);
});

t.test('.dockerignore keeps the build context small but complete', async (t) => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const entry of ['node_modules', 'dist', 'data', '.git'])
    t.ok(ignored.includes(entry), `ignores ${entry}`);
  const needed = JSON.parse(read('tsconfig.build.json')).include as string[];
  for (const entry of [...needed, 'package.json', 'package-lock.json', 'tsconfig.json'])
    t.notOk(ignored.includes(entry), `keeps ${entry}`);
});

// --- the entrypoint -----------------------------------------------------------------------------

/** What each role's health check asks, and the file that serves that path. */
const HEALTH_ROUTES: Record<Role, { path: string; servedBy: string }> = {
  engine: { path: '/health', servedBy: 'engine/shell/engine.ts' },
  gateway: { path: '/health/ready', servedBy: 'gateway/routes/operations.ts' },
  'shipping-agent': { path: '/metrics', servedBy: 'service-kit/metrics-server.ts' },
  'fake-carrier': { path: '/health', servedBy: 'fake-carrier/server.ts' },
};

const roleBranches = new Map(
  [...entrypointText.matchAll(/^ {2}([a-z-]+)\)\n([\s\S]*?);;/gm)].map((m) => [m[1]!, m[2]!]),
);

t.test('the entrypoint starts each role from dist/ and knows its health URL', async (t) => {
  for (const role of [...ROLES, 'token', 'replay-dead-letters']) {
    const branch = roleBranches.get(role);
    if (branch === undefined) {
      t.fail(`no branch for ${role}`);
      continue;
    }
    const target = /exec node (dist\/\S+)\.js/.exec(branch)?.[1];
    t.ok(
      target !== undefined && existsSync(join(ROOT, `${target.replace(/^dist\//, '')}.ts`)),
      `${role} runs ${target}.js, built from a source file`,
    );
  }
  for (const role of ROLES) {
    const branch = roleBranches.get(role) ?? '';
    const url = /health_url "http:\/\/127\.0\.0\.1:\$\{([A-Z_]+):-(\d+)\}(\/[^"]*)"/.exec(branch);
    if (url === null) {
      t.fail(`${role}: no health URL`);
      continue;
    }
    const [, name, fallback, path] = url;
    t.ok(namesOf(role).has(name!), `${role}'s health port comes from ${name}, a setting it reads`);
    t.equal(fallback, defaultOf(role, name!), `${role}: ${name} defaults as in its config`);
    t.equal(path, HEALTH_ROUTES[role].path, `${role} is asked ${path}`);
    t.ok(read(HEALTH_ROUTES[role].servedBy).includes(`'${path}'`), `${path} is served`);
  }
});

t.test("the image's HEALTHCHECK command answers by the URL's status", async (t) => {
  const dir = await tempDir(t, 'healthcheck');
  const server = createServer((request, response) => {
    response.writeHead(request.url === '/ok' ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  /** The exit code of the health check when the entrypoint wrote `url` (null: wrote nothing). */
  const exitCode = (name: string, url: string | null) => {
    const urlFile = join(dir, name);
    if (url !== null) writeFileSync(urlFile, `${url}\n`);
    const args = healthCommand.slice(1).map((arg) => arg.replaceAll(healthUrlFile ?? '?', urlFile));
    return new Promise<number | null>((resolve) => {
      const child = execFile(process.execPath, args, { timeout: 10_000 }, () =>
        resolve(child.exitCode),
      );
    });
  };
  const [none, up, down] = await Promise.all([
    exitCode('none', null),
    exitCode('up', `http://127.0.0.1:${port}/ok`),
    exitCode('down', `http://127.0.0.1:${port}/down`),
  ]);
  t.not(none, 0, 'no URL written: unhealthy');
  t.equal(up, 0, '200: healthy');
  t.equal(down, 1, '503: unhealthy');
});

/**
 * Starts the engine through the entrypoint after writing a WAL lock; `pid: 'self'` names the pid
 * the entrypoint (and so the engine) will have. NATS is unreachable, so the engine goes no further
 * than its metrics port: enough to see what the entrypoint did before it.
 */
async function engineAfterLock(
  t: Teardown,
  lock: { pid: 'self' | number; host: string },
): Promise<{ lockLeft: boolean; stderr: string; healthUrl: string }> {
  const dir = await tempDir(t, 'entrypoint');
  const walDir = join(dir, 'wal');
  mkdirSync(walDir);
  const lockFile = join(walDir, 'wal.lock');
  // The entrypoint as the image has it, but writing its health URL here rather than to /tmp.
  const urlFile = join(dir, 'health-url');
  const entrypoint = join(dir, 'entrypoint.sh');
  writeFileSync(entrypoint, entrypointText.replace(`=${healthUrlFile}\n`, `=${urlFile}\n`));
  const pid = lock.pid === 'self' ? '$$' : String(lock.pid);
  const script =
    `printf '{"pid":%s,"hostname":"%s","startedAt":"2020-01-01T00:00:00.000Z"}\\n' ${pid} "$LOCK_HOST" > "$WAL_DIR/wal.lock"; ` +
    `exec /bin/sh ${entrypoint} engine`;
  const child = spawn('/bin/sh', ['-c', script], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      LOCK_HOST: lock.host,
      WAL_DIR: walDir,
      NATS_URL: 'nats://127.0.0.1:1',
      ENGINE_METRICS_PORT: '0',
      ENGINE_METRICS_HOST: '127.0.0.1',
      ENGINE_SALES: 'demo',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the engine never logged its metrics port; stderr: ${stderr}`)),
      ENTRYPOINT_TIMEOUT_MS,
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('metrics at GET /metrics')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the engine exited (${code}) before its metrics port; stderr: ${stderr}`));
    });
  });
  const lockLeft = existsSync(lockFile);
  child.kill('SIGKILL');
  return { lockLeft, stderr, healthUrl: readFileSync(urlFile, 'utf8').trim() };
}

t.test('entrypoint: only a lock naming this very pid on this host is removed', async (t) => {
  const here = hostname();
  const [own, live, elsewhere] = await Promise.all([
    engineAfterLock(t, { pid: 'self', host: here }),
    engineAfterLock(t, { pid: process.pid, host: here }),
    engineAfterLock(t, { pid: 'self', host: `not-${here}` }),
  ]);
  t.notOk(own.lockLeft, "a lock naming the engine's own pid here is stale: removed");
  t.match(own.stderr, /removed .*wal\.lock/, 'and the removal is logged');
  t.ok(live.lockLeft, 'a lock naming another live pid here stays (the engine judges it)');
  t.equal(own.healthUrl, 'http://127.0.0.1:0/health', 'the engine role wrote its health URL');
  t.ok(elsewhere.lockLeft, 'a lock naming another host stays');
});

// --- docker-compose.yml -------------------------------------------------------------------------

const composeText = read('docker-compose.yml');
const compose = asMap(parseBlockYaml(composeText), 'docker-compose.yml');
const services = asMap(compose.services, 'services');
const declaredVolumes = new Set(Object.keys(asMap(compose.volumes ?? {}, 'volumes')));

const strings = (value: YamlValue | undefined): string[] =>
  Array.isArray(value)
    ? value.map(String)
    : value === undefined || value === null
      ? []
      : [String(value)];

/** The role a service built from our Dockerfile runs (its command's first word), else null. */
function roleOf(service: YamlMap): Role | null {
  if (service.build === undefined) return null;
  const first = strings(service.command)[0] ?? 'gateway';
  return ROLES.includes(first as Role) ? (first as Role) : null;
}

function environment(service: YamlMap): Map<string, string | null> {
  const env = service.environment;
  if (env === undefined || env === null) return new Map();
  if (Array.isArray(env))
    return new Map(
      env.map(String).map((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, null] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  return new Map(
    Object.entries(asMap(env, 'environment')).map(([k, v]) => [k, v === null ? null : String(v)]),
  );
}

/** `${NAME:-fallback}` → fallback; a plain value as it is. */
const resolved = (value: string | null | undefined) =>
  value?.replace(/\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}/g, '$1') ?? null;

const servicesByRole = (role: Role) =>
  Object.entries(services).filter(([, s]) => roleOf(asMap(s, 'service')) === role);
const replicas = (service: YamlMap) => Number(asMap(service.deploy ?? {}, 'deploy').replicas ?? 1);
const healthChecked = (service: YamlMap) =>
  service.healthcheck !== undefined || (service.build !== undefined && healthcheck !== undefined);

t.test('compose: every service has an image, every role runs', async (t) => {
  for (const [name, value] of Object.entries(services)) {
    const service = asMap(value, name);
    t.ok(service.image !== undefined || service.build !== undefined, `${name}: image or build`);
    if (service.build !== undefined)
      t.ok(
        existsSync(join(ROOT, String(service.build), 'Dockerfile')),
        `${name} builds our Dockerfile`,
      );
  }
  for (const role of ROLES) t.ok(servicesByRole(role).length >= 1, `a service runs ${role}`);
  const engines = servicesByRole('engine');
  t.equal(engines.length, 3, 'three engines, one per machine of the cluster');
  for (const [name, value] of engines)
    t.equal(replicas(asMap(value, name)), 1, `${name} is not scaled (one WAL per engine)`);
  t.ok(
    servicesByRole('gateway').reduce((n, [, s]) => n + replicas(asMap(s, 'gateway')), 0) >= 2,
    'at least two gateways',
  );
});

t.test('compose: every variable name is one the process reads', async (t) => {
  for (const [name, value] of Object.entries(services)) {
    const service = asMap(value, name);
    const role = roleOf(service);
    const env = environment(service);
    if (role === null) {
      t.equal(env.size, 0, `${name} (not ours) takes no settings`);
      continue;
    }
    for (const key of env.keys()) t.ok(namesOf(role).has(key), `${name} (${role}): ${key}`);
  }
  const interpolated = [...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  t.ok(interpolated.length > 0, 'the file takes values from the environment');
  for (const variable of new Set(interpolated))
    t.ok(ALL_NAMES.has(variable), `\${${variable}} is a setting name`);
});

/** Settings compose leaves to their defaults on purpose, and why. */
const COMPOSE_KEEPS_DEFAULT: ReadonlyMap<string, string> = new Map([
  ['ENGINE_METRICS_PORT', 'the healthcheck and scrapers use the image default, 9464'],
  ['ENGINE_METRICS_HOST', '0.0.0.0 already, so other containers can scrape it'],
  ['AGENT_METRICS_PORT', 'the healthcheck and scrapers use the image default, 9465'],
  ['AGENT_METRICS_HOST', '0.0.0.0 already, so other containers can scrape it'],
  ['GATEWAY_ID', 'scaled replicas must differ: the default is host name + pid'],
  ['AGENT_ID', 'scaled replicas must differ: the default is host name + pid'],
]);

t.test('compose: every setting of a role reaches its services', async (t) => {
  for (const [name, value] of Object.entries(services)) {
    const service = asMap(value, name);
    const role = roleOf(service);
    if (role === null) continue;
    const env = environment(service);
    const missing = [...namesOf(role)].filter(
      (setting) => !env.has(setting) && !COMPOSE_KEEPS_DEFAULT.has(setting),
    );
    t.same(missing, [], `${name} (${role}) is given or passes on every setting it reads`);
  }
});

/** A named volume mounted at `path` in the service, or null. */
const volumeAt = (service: YamlMap, path: string | null | undefined) =>
  strings(service.volumes)
    .map((v) => v.split(':'))
    .find(([volume, at]) => declaredVolumes.has(volume!) && at === path)?.[0] ?? null;

/** The value after a flag in a command (`--server_name n1` → n1). */
const flagValue = (command: readonly string[], ...flags: string[]) =>
  command[command.findIndex((arg) => flags.includes(arg)) + 1];

const natsNodes = Object.entries(services).filter(([, s]) =>
  String(asMap(s, 's').image ?? '').startsWith('nats:'),
);
const natsNames = new Set(natsNodes.map(([name]) => name));

t.test('compose: start order waits on health', async (t) => {
  for (const [name, value] of Object.entries(services)) {
    const dependsOn = asMap(value, name).depends_on;
    if (dependsOn === undefined) continue;
    for (const [target, how] of Object.entries(asMap(dependsOn, `${name}.depends_on`))) {
      t.ok(services[target] !== undefined, `${name} depends on ${target}, a service`);
      t.equal(
        asMap(how, 'condition').condition,
        'service_healthy',
        `${name} waits for ${target}'s health`,
      );
      t.ok(healthChecked(asMap(services[target], target)), `${target} has a health check`);
    }
  }
});

t.test('compose: three NATS nodes, clustered, each with its store on a volume', async (t) => {
  t.equal(natsNodes.length, 3, 'three NATS services from the official image');
  const commands = natsNodes.map(([name, s]) => ({
    name,
    command: strings(asMap(s, name).command),
  }));
  const stores = new Set<string | null>();
  for (const { name, command } of commands) {
    t.ok(command.includes('--jetstream') || command.includes('-js'), `${name} runs JetStream`);
    const store = volumeAt(asMap(services[name]!, name), flagValue(command, '--store_dir', '-sd'));
    t.ok(store !== null, `${name}'s JetStream store is a named volume (${store})`);
    stores.add(store);
    const routes = (flagValue(command, '--routes') ?? '').split(',');
    const routePort = /:(\d+)$/.exec(flagValue(command, '--cluster') ?? '')?.[1];
    t.same(
      routes.map((r) => /^nats-route:\/\/([\w-]+):(\d+)$/.exec(r)?.slice(1)).sort(),
      [...natsNames].sort().map((node) => [node, routePort]),
      `${name} routes to every node's cluster port (${routePort})`,
    );
  }
  t.equal(stores.size, 3, 'no two nodes share a store');
  const clusterNames = new Set(commands.map(({ command }) => flagValue(command, '--cluster_name')));
  t.equal(clusterNames.size, 1, `one cluster name (${[...clusterNames]})`);
  const serverNames = new Set(commands.map(({ command }) => flagValue(command, '--server_name')));
  t.equal(serverNames.size, 3, 'each node a server name of its own (JetStream needs them)');
  for (const [name, value] of Object.entries(services)) {
    const urls = environment(asMap(value, name)).get('NATS_URL');
    if (urls === undefined || urls === null) continue;
    const nodes = urls.split(',').map((url) => /^nats:\/\/([\w-]+):4222$/.exec(url)?.[1]);
    t.same([...nodes].sort(), [...natsNames].sort(), `${name} lists every node (${urls})`);
  }
});

t.test('compose: three engines, each on its own node and volume, 3 replicas', async (t) => {
  const wals = new Set<string | null>();
  for (const [name, value] of servicesByRole('engine')) {
    const engine = asMap(value, name);
    const env = environment(engine);
    const wal = volumeAt(engine, env.get('WAL_DIR'));
    t.ok(wal !== null, `${name}'s WAL (${env.get('WAL_DIR')}) is a named volume (${wal})`);
    wals.add(wal);
    const node = Object.keys(asMap(engine.depends_on ?? {}, 'depends_on')).find((d) =>
      natsNames.has(d),
    );
    t.ok(node !== undefined, `${name} runs beside a NATS node (${node})`);
    t.equal(
      /^nats:\/\/([\w-]+):/.exec(env.get('NATS_URL') ?? '')?.[1],
      node,
      `${name} connects to its own node first`,
    );
    t.equal(env.get('JETSTREAM_REPLICAS'), '3', `${name} keeps 3 replicas of what it creates`);
    t.equal(resolved(env.get('ENGINE_SALES')), '', `${name} pins no sale: the pool places them`);
  }
  t.equal(wals.size, 3, 'no two engines share a WAL volume');
  const carriers = servicesByRole('fake-carrier');
  for (const [name, value] of servicesByRole('shipping-agent')) {
    const url = resolved(environment(asMap(value, name)).get('CARRIER_URL'));
    t.ok(
      carriers.some(
        ([c, s]) => url === `http://${c}:${environment(asMap(s, c)).get('CARRIER_PORT')}`,
      ),
      `${name} calls the fake carrier (${url})`,
    );
  }
});

t.test('compose: the load balancer forwards to the gateways', async (t) => {
  const [lbName, lbValue] =
    Object.entries(services).find(([, s]) =>
      strings(asMap(s, 's').volumes).some((v) => v.startsWith('./deploy/')),
    ) ?? [];
  t.ok(lbName !== undefined, 'a proxy service configured from deploy/');
  const lb = asMap(lbValue ?? {}, 'lb');
  const configFile = strings(lb.volumes)
    .find((v) => v.startsWith('./deploy/'))!
    .split(':')[0]!;
  t.ok(existsSync(join(ROOT, configFile)), `${configFile} exists`);
  const config = read(configFile);

  const gateways = servicesByRole('gateway').map(([name, s]) => ({
    name,
    port: environment(asMap(s, name)).get('PORT') ?? defaultOf('gateway', 'PORT'),
    replicas: replicas(asMap(s, name)),
  }));
  const backendName = /^\s*default_backend\s+(\S+)/m.exec(config)?.[1];
  const backend =
    new RegExp(`^backend ${backendName}\\n((?:[ \\t].*\\n?|\\n)*)`, 'm').exec(config)?.[1] ?? '';
  t.ok(backend !== '', `the default backend (${backendName}) is defined`);
  const servers = [
    ...backend.matchAll(/^\s*server(?:-template\s+\S+\s+(\d+)|\s+\S+)\s+([\w.-]+):(\d+)/gm),
  ];
  t.ok(servers.length > 0, 'the backend lists its servers');
  for (const gateway of gateways) {
    const line = servers.find((s) => s[2] === gateway.name && s[3] === gateway.port);
    t.ok(line !== undefined, `it forwards to ${gateway.name}:${gateway.port}`);
    if (line?.[1] !== undefined)
      t.ok(
        Number(line[1]) >= gateway.replicas,
        `room for all ${gateway.replicas} ${gateway.name} replicas`,
      );
  }
  t.match(
    backend,
    /option httpchk GET \/health\/ready/,
    'gateways are health-checked on /health/ready',
  );
  t.match(config, /timeout tunnel \d+/, 'upgraded (WebSocket) connections get a tunnel timeout');
  const bind = /^\s*bind\s+\S*:(\d+)/m.exec(config)?.[1];
  t.ok(
    strings(lb.ports).some((p) => p.endsWith(`:${bind}`)),
    `the published port reaches the proxy's bind (:${bind})`,
  );
});

/** Resolves with the exit code, or null when the command isn't installed. */
function tryRun(
  command: string,
  args: string[],
): Promise<{ code: number | null; output: string } | null> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return resolve(null);
      resolve({
        code: typeof code === 'number' ? code : error === null ? 0 : 1,
        output: `${stdout}${stderr}`,
      });
    });
  });
}

/** `docker compose` (the plugin) when it answers, else the standalone `docker-compose`. */
async function composeCommand(): Promise<string[]> {
  if ((await tryRun('docker', ['compose', 'version']))?.code === 0) return ['docker', 'compose'];
  return ['docker-compose']; // tryRun says null when it is not installed either
}
const composeCli = await composeCommand();
const composeCheck = await tryRun(composeCli[0]!, [...composeCli.slice(1), 'config', '--quiet']);
const composeMissing = composeCheck === null;

t.test(
  'docker compose config accepts the file',
  { skip: composeMissing ? 'neither `docker compose` nor `docker-compose` is installed' : false },
  async (t) => {
    t.equal(
      composeCheck?.code,
      0,
      `${composeCli.join(' ')} config --quiet: ${composeCheck?.output.trim() || 'valid'}`,
    );
  },
);

const haproxyCheck = await tryRun('haproxy', ['-c', '-f', 'deploy/haproxy.cfg']);

t.test(
  'haproxy -c accepts the proxy config',
  { skip: haproxyCheck === null ? 'haproxy is not installed' : false },
  async (t) => {
    t.equal(haproxyCheck?.code, 0, haproxyCheck?.output.trim() ?? '');
  },
);

// --- docs/operations.md ---------------------------------------------------------------------------

t.test('docs/operations.md lists every setting of every process, with its default', async (t) => {
  const rows = read('docs/operations.md')
    .split('\n')
    .map((line) => /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([a-z-]+)\s*\|\s*([^|]*)\|/.exec(line))
    .filter((m) => m !== null);
  const listed = new Set(rows.map((m) => `${m[2]} ${m[1]}`));
  for (const role of ROLES)
    for (const { name, default: fallback } of settings[role]) {
      const row = rows.find((m) => m[1] === name && m[2] === role);
      t.ok(row !== undefined, `${role} ${name} is in the table`);
      if (row !== undefined && fallback !== null)
        t.equal(/`([^`]*)`/.exec(row[3]!)?.[1], fallback, `${role} ${name}: default ${fallback}`);
    }
  for (const entry of listed) {
    const [role, name] = entry.split(' ') as [Role, string];
    t.ok(
      ROLES.includes(role) && namesOf(role).has(name),
      `the table's ${entry} is read by ${role}`,
    );
  }
});
