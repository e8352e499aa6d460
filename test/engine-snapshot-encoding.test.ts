import t from 'tap';
import { initialState } from '../engine/core/index.js';
import { SnapshotCursor, toSnapshotData } from '../engine/core/snapshot.js';
import {
  encodeSnapshot,
  recoverState,
  SNAPSHOT_PAYLOAD_BYTES_MAX,
} from '../engine/shell/recovery.js';
import { configure, order, step } from './helpers/core.js';

// The snapshot payload the engine writes, read back by recovery; and the bound that keeps the
// engine from writing one recovery can't read (it parses the payload as one string).

const STEP_ORDERS = 10;
const noPause = async () => undefined;

function stateWithOrders(count: number) {
  const state = initialState();
  step(state, configure('s', { stock: count, perCustomerLimit: 1 }));
  for (let i = 0; i < count; i += 1) step(state, order('s', `customer-${i}`));
  return state;
}

const payloadOf = (pieces: readonly Uint8Array[]) => Buffer.concat(pieces);

t.test('an encoded snapshot is what recovery reads back', async (t) => {
  const state = stateWithOrders(25);
  const pieces = await encodeSnapshot(new SnapshotCursor(state), [], STEP_ORDERS, noPause);
  const recovered = recoverState({ lsn: 26, payload: payloadOf(pieces) }, [], 26);
  t.same(toSnapshotData(recovered.state), toSnapshotData(state));
});

t.test('a payload over the bound is refused while it is encoded, not written', async (t) => {
  t.ok(SNAPSHOT_PAYLOAD_BYTES_MAX <= 2 ** 29, 'the default bound is within a V8 string');
  const state = stateWithOrders(25);
  const whole = payloadOf(
    await encodeSnapshot(new SnapshotCursor(state), [], STEP_ORDERS, noPause),
  ).length;
  await t.resolves(
    encodeSnapshot(new SnapshotCursor(state), [], STEP_ORDERS, noPause, whole),
    'exactly at the bound is fine',
  );
  await t.rejects(
    encodeSnapshot(new SnapshotCursor(state), [], STEP_ORDERS, noPause, whole - 1),
    { name: 'SnapshotTooLargeError', message: /more than recovery can read: not written/ },
    'a byte over it is not',
  );
});
