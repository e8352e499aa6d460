import type { WebSocket } from 'ws';

// Finds live sockets whose client is gone without a word (a laptop closed, a phone off the
// network): nothing reaches the gateway then, and the live sockets only send, rarely (a status
// change), so such a socket would hold its place, listeners and memory for ever. One timer pings
// every socket each interval; a socket that has not answered the previous ping by the next is
// terminated. Browsers answer pings by themselves.

export class SocketHeartbeat {
  /** Each socket, and whether it answered since the last ping. */
  private readonly answered = new Map<WebSocket, boolean>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => this.beat(), intervalMs);
    // Never the reason a stopping gateway stays up.
    this.timer.unref();
  }

  watch(socket: WebSocket): void {
    this.answered.set(socket, true);
    socket.on('pong', () => this.answered.set(socket, true));
    socket.once('close', () => this.answered.delete(socket));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private beat(): void {
    for (const [socket, answered] of this.answered) {
      if (!answered) {
        socket.terminate();
        continue;
      }
      this.answered.set(socket, false);
      socket.ping();
    }
  }
}
