import type { Test } from 'tap';
import {
  type Command,
  type Decision,
  decide,
  type ErrorCode,
  type Event,
  evolve,
  initialState,
} from '../../engine/core/index.js';

// given(events) / when(command) / then(events), as emmett's DeciderSpecification: what `decide`
// puts into the WAL is the contract, so a test says it event by event, from a history of events
// (what recovery replays), not only through the views.

export interface DeciderThen {
  /** The decision succeeded with exactly these events (none: a replay or a no-op). */
  thenEvents(t: Test, expected: readonly Event[], what?: string): void;
  /** The decision was refused with this code (and these details), and wrote nothing. */
  thenRefused(t: Test, code: ErrorCode, details?: Record<string, unknown>): void;
  /** The decision itself, for what the above don't cover (its outcome). */
  readonly decision: Decision;
}

export function given(history: readonly Event[]) {
  return {
    when(command: Command): DeciderThen {
      const state = initialState();
      for (const event of history) evolve(state, event);
      const decision = decide(state, command);
      return {
        decision,
        thenEvents(t, expected, what = `${command.type} writes ${expected.length} event(s)`) {
          if (!decision.ok) t.fail(`${what}: refused ${JSON.stringify(decision.rejection)}`);
          else t.same(decision.events, expected, what);
        },
        thenRefused(t, code, details) {
          if (decision.ok) t.fail(`${command.type}: expected ${code}, got events`);
          else t.match(decision.rejection, { code, ...(details ? { details } : {}) }, `${code}`);
        },
      };
    },
  };
}
