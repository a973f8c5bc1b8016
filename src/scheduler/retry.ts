/**
 * When a failed attempt is tried again: exponential backoff with jitter, up to `max_attempts`. Pure.
 *
 * Only failures that another try might mend are retried (the agent failed, timed out, crashed, or its
 * worker died); a blocked agent needs a person, and a cancelled task was stopped on purpose.
 */

export type RetryInput = {
  /** The attempt that just ended (1-based). */
  attemptNumber: number;
  maxAttempts: number;
  /** The state the attempt's judgement leads to. */
  state: "review" | "failed" | "blocked" | "cancelled";
  /** The first retry's delay; each later one doubles it. */
  baseDelayMs: number;
  now: number;
  /** In [0, 1): spreads retries so tasks that failed together do not retry together. */
  random: number;
};

export type RetryDecision = { retry: false } | { retry: true; nextAttemptAt: Date; delayMs: number };

/** No retry waits longer than this, however many attempts came before. */
export const MAX_RETRY_DELAY_MS = 60 * 60_000;

export function retryDecision(input: RetryInput): RetryDecision {
  if (input.state !== "failed" || input.attemptNumber >= input.maxAttempts) return { retry: false };
  const exponential = input.baseDelayMs * 2 ** (input.attemptNumber - 1);
  // "Equal jitter": half the delay fixed, half random, so a retry never comes sooner than half the backoff.
  const delayMs = Math.round(Math.min(exponential, MAX_RETRY_DELAY_MS) * (0.5 + input.random / 2));
  return { retry: true, nextAttemptAt: new Date(input.now + delayMs), delayMs };
}
