// The engine's protocol: subjects, message shapes, error codes and limits. Gateways and the
// shipping agent import this module only, never the engine's internals.
export * from '../core/errors.js';
export * from '../core/limits.js';
export { formatOrderId, saleIdOfOrderId } from '../core/order-id.js';
export type { HistoryEntry, OrderStatus, SaleStatus, ShippingStatus } from '../core/types.js';
export type { CustomerView, OrderView, SaleView } from '../core/views.js';
export * from './messages.js';
export * from './schemas.js';
export * from './subjects.js';
