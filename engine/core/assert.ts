// What must be true, said where it must be: a failed assertion is a bug (ours), never bad input
// (bad input is refused with a code). It stops the work at hand with a message naming what broke,
// instead of carrying on with a value that isn't there (TigerBeetle's assertions; `!` in
// TypeScript only silences the compiler).

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** The value, which must exist: `what` names it in the error when it doesn't. */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new AssertionError(`${what} is missing`);
  return value;
}
