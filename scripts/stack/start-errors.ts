// How a stack script (`npm start`, `npm run cluster`) tells what went wrong during its start: one
// line a person can act on, not a child's stack trace.

/** A failure whose message says it all: printed on one line, without a stack. */
export class StartError extends Error {}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A child that could not listen dumps a stack trace (EADDRINUSE); this says which setting moves
 * it. Other failures pass through as they are. The address ends at a quote too: the child's words
 * may come from its JSON log, where the message is a string among others.
 */
export function portInUse(who: string, setting: string): (error: unknown) => never {
  return (error) => {
    const address = /EADDRINUSE: address already in use ([^\s"',]+)/.exec(messageOf(error))?.[1];
    if (address === undefined) throw error;
    throw new StartError(`${who} cannot listen on ${address}, which is in use: set ${setting}`);
  };
}
