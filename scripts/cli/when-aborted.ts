/**
 * A promise that rejects with `message` once `signal` aborts (at once if it already has), to race
 * a long run against; `dispose` stops listening once the run is over.
 */
export function whenAborted(signal: AbortSignal | undefined, message: string) {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(message));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  return { aborted, dispose: () => signal?.removeEventListener('abort', onAbort) };
}
