import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

// The gateway's Prometheus metrics (`GET /metrics`): requests by route and status, latency,
// engine requests in flight, load shed, the sold-out fast path, and open WebSockets.

const PREFIX = 'flashsale_gateway_';
/** Seconds: from a fast-path answer (~0.1 ms) to an engine timeout. */
const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route'>;
  readonly shed: Counter<'reason'>;
  readonly soldOutFastPath: Counter;
  readonly sockets: Gauge<'route'>;
  /**
   * The request counter's and latency histogram's children per route and status, made once:
   * looking a child up by its labels (an object hashed on every call) was a per-request cost.
   * Bounded by the routes and the statuses the gateway answers with.
   */
  private readonly answerChildren = new Map<
    string,
    { readonly count: { inc(): void }; readonly time: { observe(s: number): void } }
  >();

  /** Counts one answered request and its time. */
  answered(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let children = this.answerChildren.get(key);
    if (children === undefined) {
      children = {
        count: this.requests.labels({ method, route, status }),
        time: this.latency.labels({ method, route }),
      };
      this.answerChildren.set(key, children);
    }
    children.count.inc();
    children.time.observe(seconds);
  }

  constructor(engineInflight: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: `${PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'Time from request to reply',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.shed = new Counter({
      name: `${PREFIX}shed_total`,
      help: 'Requests refused with OVERLOADED, by reason (event_loop, inflight)',
      labelNames: ['reason'],
      registers,
    });
    this.soldOutFastPath = new Counter({
      name: `${PREFIX}sold_out_fast_path_total`,
      help: 'Orders answered SOLD_OUT from the stock cache, without asking the engine',
      registers,
    });
    this.sockets = new Gauge({
      name: `${PREFIX}websocket_connections`,
      help: 'Open WebSocket connections, by route',
      labelNames: ['route'],
      registers,
    });
    new Gauge({
      name: `${PREFIX}engine_requests_inflight`,
      help: 'Orders and other requests sent to engines, awaiting their reply',
      registers,
      collect() {
        this.set(engineInflight());
      },
    });
  }
}
