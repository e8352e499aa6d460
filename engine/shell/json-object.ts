/**
 * The JSON object a small state file holds, or null when it is empty, cut off, not JSON or not an
 * object: the callers treat such a file as damaged, each in its own way.
 */
export function jsonObjectIn(text: string): Readonly<Record<string, unknown>> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : null;
}
