import type { NatsConnection } from '@nats-io/transport-node';
import type { SaleCatalogueReader } from './catalogue.js';
import type { GatewayConfig } from './config.js';
import type { EngineLink } from './engine-link.js';
import type { AdmissionFeed } from './live/admission-feed.js';
import type { QueueFeeds } from './live/queue-feeds.js';
import type { SaleFeeds } from './live/sale-feeds.js';
import type { StatusFeed } from './live/status-feed.js';
import type { GatewayMetrics } from './metrics.js';

/** What the routes share: settings, the way to the engines, the live feeds and the metrics. */
export interface GatewayContext {
  readonly config: GatewayConfig;
  readonly nc: NatsConnection;
  readonly engine: EngineLink;
  readonly catalogue: SaleCatalogueReader;
  readonly feeds: SaleFeeds;
  readonly statuses: StatusFeed;
  readonly queues: QueueFeeds;
  readonly admissions: AdmissionFeed;
  readonly metrics: GatewayMetrics;
  /** False while the NATS connection is down (readiness). */
  readonly natsConnected: () => boolean;
}
