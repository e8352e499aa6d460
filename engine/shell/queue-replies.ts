import { assert } from '../core/assert.js';
import { rejection } from '../core/errors.js';
import type { QueueOutcome } from '../core/queue-types.js';
import { viewDraw, viewQueue, viewQueueEntry } from '../core/queue-views.js';
import type { EngineState } from '../core/types.js';
import {
  type Admission,
  type CommandReply,
  errorReply,
  type QueryReply,
} from '../protocol/messages.js';

// The waiting room's replies, read from the state right after the decision was applied.

export function queueCommandReply(
  state: EngineState,
  outcome: QueueOutcome,
  now: number,
): CommandReply {
  switch (outcome.type) {
    case 'QueueEntered':
    case 'QueueLeft': {
      const entry = viewQueueEntry(state, outcome.saleId, outcome.customerId, now);
      assert(entry !== null, `the queue entry of ${outcome.customerId} is not in the state`);
      const joined = outcome.type === 'QueueEntered' && outcome.joined;
      return { ok: true, kind: 'queueEntry', entry, joined };
    }
    case 'QueueTicked':
      return {
        ok: true,
        kind: 'tick',
        queue: outcome.active ? viewQueue(state, outcome.saleId, now) : null,
        admissions: outcome.admitted.map((customerId) =>
          admissionOf(state, outcome.saleId, customerId, now),
        ),
        closed: outcome.closed,
      };
    default: {
      const exhaustive: never = outcome;
      throw new Error(`unknown queue outcome ${JSON.stringify(exhaustive)}`);
    }
  }
}

function admissionOf(
  state: EngineState,
  saleId: string,
  customerId: string,
  now: number,
): Admission {
  const entry = viewQueueEntry(state, saleId, customerId, now);
  assert(
    entry?.admittedAt != null && entry.admittedUntil !== null,
    `admitted customer ${customerId} has no admission in the state`,
  );
  return { customerId, admittedAt: entry.admittedAt, admittedUntil: entry.admittedUntil };
}

export type QueueQuery =
  | { readonly type: 'GetQueueEntry'; readonly customerId: string }
  | { readonly type: 'GetQueue' }
  | { readonly type: 'GetDraw' };

export function queueQueryReply(
  state: EngineState,
  saleId: string,
  request: QueueQuery,
  now: number,
): QueryReply {
  if (!state.sales.has(saleId)) return errorReply(rejection('SALE_NOT_FOUND'));
  const noRoom = errorReply(rejection('INVALID_REQUEST', 'This sale has no waiting room.'));
  switch (request.type) {
    case 'GetQueueEntry': {
      if (state.sales.get(saleId)?.settings.waitingRoom === undefined) return noRoom;
      const entry = viewQueueEntry(state, saleId, request.customerId, now);
      return { ok: true, kind: 'queueEntry', entry };
    }
    case 'GetQueue': {
      const queue = viewQueue(state, saleId, now);
      return queue === null ? noRoom : { ok: true, kind: 'queue', queue };
    }
    case 'GetDraw': {
      const draw = viewDraw(state, saleId);
      return draw === null ? noRoom : { ok: true, kind: 'draw', draw };
    }
    default: {
      const exhaustive: never = request;
      throw new Error(`unknown queue query ${JSON.stringify(exhaustive)}`);
    }
  }
}
