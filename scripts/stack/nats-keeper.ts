import { spawn } from 'node:child_process';

// `node nats-keeper.js <nats-server> <args…>`: runs nats-server as its child and ties its life to
// the process that started this keeper (nats-server.ts), over the IPC channel between them.
// nats-server is not a node process and can't see that channel: without a keeper, a nats-server
// started by `npm start` or by a test outlived a `kill -9` of it, holding its port and store.
//
// It tells its parent `{type:'spawned',pid}` at once and `{type:'ready',pid}` once nats-server
// accepts clients; it passes nats-server's output on to its own stderr; it stops nats-server
// (SIGTERM, SIGKILL after NATS_STOP_MS_MAX) on SIGTERM, SIGINT or SIGHUP, and when its parent
// goes (after PARENT_GONE_STOP_DELAY_MS); it exits as nats-server exits (with its code, or 1
// after a signal).

/** nats-server flushes its JetStream store on SIGTERM; past this it is SIGKILLed. */
const NATS_STOP_MS_MAX = 2_000;
/**
 * When the parent goes, the services it started on this server go at the same moment, and their
 * own stop needs NATS for a few hundred ms (the engine frees its sale leases, so the next start
 * need not wait them out; the agent hands its deliveries back). Within the 5 s that `npm start`
 * promises, with NATS_STOP_MS_MAX after it.
 */
const PARENT_GONE_STOP_DELAY_MS = 1_000;
/** What nats-server prints once it accepts clients. */
const READY_TEXT = 'Server is ready';
/**
 * The end of nats-server's output kept while looking for READY_TEXT, which may span two chunks:
 * one character short of it. Each chunk is searched whole first, since in a cluster the route
 * lines follow READY_TEXT at once and may arrive in the same chunk.
 */
const SCAN_CHARS_KEPT = READY_TEXT.length - 1;
const EXIT_FAILED = 1;

const [binary, ...args] = process.argv.slice(2);
if (binary === undefined) {
  process.stderr.write('usage: nats-keeper <nats-server> [args…]\n');
  process.exit(EXIT_FAILED);
}
// Our stderr may be a pipe to a parent that is gone: a failed write must not end the keeper
// before nats-server.
process.stderr.on('error', () => {});
// nats-server keeps the keeper alive; the channel must not once nats-server has exited.
process.channel?.unref();

const server = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
const tell = (message: object) => process.send?.(message, undefined, undefined, () => {});

server.on('error', (error) => {
  process.stderr.write(`nats-keeper: cannot run ${binary}: ${error.message}\n`);
  process.exit(EXIT_FAILED);
});
server.on('exit', (code) => process.exit(code ?? EXIT_FAILED));
if (server.pid !== undefined) tell({ type: 'spawned', pid: server.pid });

let scanned = '';
let ready = false;
server.stderr.on('data', (chunk: Buffer) => {
  process.stderr.write(chunk);
  if (ready) return;
  const text = scanned + chunk.toString();
  scanned = text.slice(-SCAN_CHARS_KEPT);
  if (!text.includes(READY_TEXT)) return;
  ready = true;
  tell({ type: 'ready', pid: server.pid });
});

let stopping = false;
function stopServer(): void {
  if (stopping) return;
  stopping = true;
  server.kill('SIGTERM');
  setTimeout(() => server.kill('SIGKILL'), NATS_STOP_MS_MAX).unref();
}
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stopServer);
if (process.channel !== undefined) {
  const parentGone = () => setTimeout(stopServer, PARENT_GONE_STOP_DELAY_MS);
  if (process.connected) process.once('disconnect', parentGone);
  else parentGone();
}
