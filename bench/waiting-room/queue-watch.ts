import { once } from 'node:events';
import WebSocket from 'ws';
import type { QueueMessage } from '../../engine/protocol/index.js';

// One client of a sale's live socket (`/v1/sales/:id/live`) that waits for a queue message
// matching a condition: how the bench knows the draw is done or everyone was admitted, as a page
// would, without polling. It also counts the messages that said the engine ticked late (`slowed`).

export class QueueWatch {
  latest: QueueMessage | null = null;
  slowedMessages = 0;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type !== 'queue') return;
      this.latest = message as QueueMessage;
      if (this.latest.slowed) this.slowedMessages += 1;
      for (const wake of this.waiters) wake();
    });
    socket.on('close', () => {
      for (const wake of this.waiters) wake();
    });
  }

  static async open(gatewayUrl: string, saleId: string): Promise<QueueWatch> {
    const socket = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/v1/sales/${saleId}/live`);
    await once(socket, 'open');
    return new QueueWatch(socket);
  }

  /** The first queue message (the latest, or one to come) that matches, within `timeoutMs`. */
  async until(
    what: string,
    matches: (message: QueueMessage) => boolean,
    timeoutMs: number,
  ): Promise<QueueMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const latest = this.latest;
      if (latest !== null && matches(latest)) return latest;
      if (this.socket.readyState !== WebSocket.OPEN) throw new Error(`${what}: the socket closed`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${what}: not within ${timeoutMs} ms (${JSON.stringify(latest)})`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}
