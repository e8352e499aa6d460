import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { runLoad } from '../../scripts/client/load-runner.js';

// Many clients of one sale's live socket, in this process: each only counts what it receives (no
// parsing: the figure wanted is the gateway's work, and the load generator shares its cores).

/** Sockets opening at once: the gateway's accept queue and this event loop stay unhurried. */
const OPENING_CONCURRENCY = 100;
const OPEN_TRIES_MAX = 5;
/** The gateway's Retry-After (RETRY_AFTER_S, 1 s by default). */
const RETRY_AFTER_MS = 1_000;

export class LiveSockets {
  received = 0;
  /** Upgrades refused and tried again. */
  refusals = 0;
  private readonly sockets: WebSocket[] = [];

  async open(url: string, count: number): Promise<void> {
    await runLoad({
      total: count,
      concurrency: OPENING_CONCURRENCY,
      send: () => this.openOne(url),
    });
  }

  /** One socket, retried after a refusal (a 503 under load asks for it), at most OPEN_TRIES_MAX. */
  private async openOne(url: string): Promise<void> {
    for (let tries = 1; ; tries += 1) {
      const socket = new WebSocket(url);
      try {
        await once(socket, 'open');
      } catch (error) {
        if (tries === OPEN_TRIES_MAX) throw error;
        this.refusals += 1;
        await delay(RETRY_AFTER_MS);
        continue;
      }
      this.sockets.push(socket);
      // A socket the gateway drops later shows in openCount; its error must not end the bench.
      socket.on('error', () => undefined);
      socket.on('message', () => {
        this.received += 1;
      });
      return;
    }
  }

  /** Sockets still open: one the gateway closed (too slow, a ping missed) shows here. */
  get openCount(): number {
    return this.sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length;
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
    this.sockets.length = 0;
  }
}
