// The pure decision core: commands in, events or a rejection out. Imports nothing with I/O.
export { decide } from './decide.js';
export { sha256Hex } from './digest.js';
export { drawIndex, drawOrder } from './draw.js';
export * from './errors.js';
export { evolve } from './evolve.js';
export * from './limits.js';
export { formatOrderId, saleIdOfOrderId } from './order-id.js';
export * from './queue-views.js';
export {
  fromSnapshotData,
  type OrderBlock,
  SnapshotCursor,
  type SnapshotData,
  type TupleSnapshotData,
  toSnapshotData,
} from './snapshot.js';
export * from './types.js';
export * from './views.js';
