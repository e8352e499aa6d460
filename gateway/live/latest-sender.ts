import type { WebSocket } from 'ws';

// Sends to one socket without an unbounded queue: at most one message in flight, and while it is,
// newer messages replace older ones with the same key (a slow client gets the latest stock, the
// latest status of each order — never a backlog).

/** Distinct keys waiting for one slow socket before it is closed as hopeless. */
export const PENDING_KEYS_MAX = 1_000;
/** Close code for a client too slow to keep up (RFC 6455: 1008 policy violation). */
export const CLOSE_TOO_SLOW = 1008;

export class LatestSender {
  private readonly pending = new Map<string, string>();
  private sending = false;

  constructor(private readonly socket: WebSocket) {}

  send(key: string, message: unknown): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.pending.delete(key); // re-inserted last: the map stays in arrival order
    this.pending.set(key, JSON.stringify(message));
    if (this.pending.size > PENDING_KEYS_MAX) {
      this.socket.close(CLOSE_TOO_SLOW, 'too slow');
      return;
    }
    this.next();
  }

  private next(): void {
    if (this.sending) return;
    const first = this.pending.entries().next();
    if (first.done) return;
    const [key, text] = first.value;
    this.pending.delete(key);
    this.sending = true;
    this.socket.send(text, () => {
      this.sending = false;
      this.next();
    });
  }
}
