/** Parses JSON, or gives undefined for anything that is not (an empty string included). */
export function tryJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The JSON objects of a JSON Lines stream, in order. Lines that are not JSON objects are skipped: the
 * runner keeps only the end of stdout, so the first line may be cut, and CLIs mix in stray text.
 */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    const value = record(tryJson(trimmed));
    if (value) objects.push(value);
  }
  return objects;
}

/** Adds up reported counts (tokens, dollars), leaving the total undefined while none was reported. */
export function addCounts(total: number | undefined, ...counts: (number | undefined)[]): number | undefined {
  let sum = total;
  for (const count of counts) {
    if (count !== undefined) sum = (sum ?? 0) + count;
  }
  return sum;
}

/** The value as a JSON object, or undefined. */
function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
