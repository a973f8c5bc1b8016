/**
 * GitHub's rate limits, read from a failed request: how long to wait before trying again, or null when
 * the failure is something else. Pure. Primary limits say when they reset (`x-ratelimit-reset`);
 * secondary limits may say `retry-after`, and otherwise GitHub asks for at least a minute.
 */

type Failed = { status?: unknown; message?: unknown; response?: { headers?: Record<string, unknown> } };

const SECONDARY_DEFAULT_MS = 60_000;

export function rateLimitDelay(error: unknown, now: number = Date.now()): number | null {
  if (typeof error !== "object" || error === null) return null;
  const { status, message, response } = error as Failed;
  if (status !== 403 && status !== 429) return null;
  const headers = response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.max(1_000, retryAfter * 1000);
  if (String(headers["x-ratelimit-remaining"]) === "0") {
    const reset = Number(headers["x-ratelimit-reset"]) * 1000;
    return Number.isFinite(reset) ? Math.max(1_000, reset - now + 1_000) : SECONDARY_DEFAULT_MS;
  }
  if (status === 429 || /secondary rate limit|abuse detection|rate limit/i.test(String(message ?? "")))
    return SECONDARY_DEFAULT_MS;
  return null;
}
