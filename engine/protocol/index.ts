// The engine's protocol: subjects, message shapes, error codes and limits. Gateways and the
// shipping agent import this module only, never the engine's internals.
export * from '../core/assert.js';
// The draw is public: anyone re-runs it from the seed and the lobby (scripts/draw.ts does).
export { sha256Hex } from '../core/digest.js';
export { drawIndex, drawOrder } from '../core/draw.js';
export * from '../core/errors.js';
export * from '../core/limits.js';
export { formatOrderId, saleIdOfOrderId } from '../core/order-id.js';
export type {
  DrawView,
  QueueEntryState,
  QueueEntryView,
  QueuePhase,
  QueueView,
} from '../core/queue-views.js';
export type {
  HistoryEntry,
  OrderStatus,
  SaleStatus,
  ShippingStatus,
  WaitingRoomSettings,
} from '../core/types.js';
export type { CustomerView, OrderView, SaleView } from '../core/views.js';
export * from './catalogue.js';
export * from './messages.js';
export * from './published.js';
export * from './schemas.js';
export * from './subjects.js';
