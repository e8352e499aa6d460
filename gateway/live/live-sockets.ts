import type { WebSocket } from 'ws';
import type { GatewayConfig } from '../config.js';
import { ApiError, errorBody } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { SocketHeartbeat } from './socket-heartbeat.js';

// The gateway's live sockets as a whole: how many are open (at the gateway, and per customer on
// `/v1/me/live`, so that one token can't take every place), the refusals past those bounds, and
// what every socket gets — a heartbeat, and an error for anything a client sends (the sockets only
// send; a client that keeps sending junk is disconnected).

/** Junk messages tolerated from one client before it is disconnected. */
export const WS_JUNK_MESSAGES_MAX = 10;
const CLOSE_POLICY = 1008;

const JUNK_REPLY = JSON.stringify({
  type: 'error',
  ...errorBody(new ApiError('INVALID_REQUEST', 'This socket only sends; messages are ignored.')),
});

type LiveLimits = Pick<
  GatewayConfig,
  'wsConnectionsMax' | 'wsConnectionsPerCustomerMax' | 'wsPingIntervalMs'
>;

export class LiveSockets {
  private open = 0;
  private readonly openByCustomer = new Map<string, number>();
  private readonly heartbeat: SocketHeartbeat;

  constructor(
    private readonly limits: LiveLimits,
    private readonly metrics: GatewayMetrics,
  ) {
    this.heartbeat = new SocketHeartbeat(limits.wsPingIntervalMs);
  }

  /** Refuses a new socket (OVERLOADED) once the gateway holds as many as it may. */
  admit(): void {
    if (this.open < this.limits.wsConnectionsMax) return;
    this.metrics.shed.inc({ reason: 'websockets' });
    throw new ApiError('OVERLOADED', 'Too many live connections at this gateway.');
  }

  /** Refuses a customer's socket (RATE_LIMITED) past their own share. */
  admitCustomer(customerId: string): void {
    const max = this.limits.wsConnectionsPerCustomerMax;
    if ((this.openByCustomer.get(customerId) ?? 0) < max) return;
    throw new ApiError(
      'RATE_LIMITED',
      `You have ${max} live connections open at this gateway; close one first.`,
    );
  }

  /** Counts an accepted socket until it closes, then calls `onClose`. */
  track(socket: WebSocket, route: 'sale' | 'me', onClose: () => void, customerId?: string): void {
    this.open += 1;
    if (customerId !== undefined) this.countCustomer(customerId, 1);
    this.metrics.sockets.inc({ route });
    this.heartbeat.watch(socket);
    let junk = 0;
    socket.on('message', () => {
      junk += 1;
      socket.send(JUNK_REPLY);
      if (junk >= WS_JUNK_MESSAGES_MAX) socket.close(CLOSE_POLICY, 'junk');
    });
    socket.once('close', () => {
      this.open -= 1;
      if (customerId !== undefined) this.countCustomer(customerId, -1);
      this.metrics.sockets.dec({ route });
      onClose();
    });
  }

  stop(): void {
    this.heartbeat.stop();
  }

  private countCustomer(customerId: string, change: 1 | -1): void {
    const count = (this.openByCustomer.get(customerId) ?? 0) + change;
    if (count > 0) this.openByCustomer.set(customerId, count);
    else this.openByCustomer.delete(customerId);
  }
}
