import type { AttemptStart } from "../db/attempt-start.ts";
import type { TaskMove } from "../db/attempts.ts";

/**
 * When a failed attempt is tried again: exponential backoff with jitter, up to `max_attempts`. Pure.
 *
 * Only failures that another try might mend are retried (the agent failed, timed out, crashed, or its
 * worker died); a blocked agent needs a person, a cancelled task was stopped on purpose, and a merge with
 * the base that ended in conflict waits for a person or for the base to move (`max_conflict_attempts`
 * bounds the attempts Drover itself makes).
 */

export type RetryInput = {
  /** The attempt that just ended (1-based). */
  attemptNumber: number;
  maxAttempts: number;
  /** The state the attempt's judgement leads to. */
  state: "review" | "failed" | "blocked" | "cancelled" | "conflict";
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

/** How an attempt ended, as the retry policy needs it. */
export type AttemptEnd = {
  /** The state its judgement leads to. */
  state: RetryInput["state"];
  reason: string;
  /** Another agent of the failover list takes the next attempt: it may start at once. */
  failoverTo?: string | undefined;
  /** No retry, whatever the policy says (the budget is spent, or its workers keep dying). */
  final?: boolean | undefined;
  /**
   * How the attempt started, when it built on the task branch: a retry does too, since one from the base
   * branch would force-push over work people have seen (a pull request in review).
   */
  startedFrom?: AttemptStart | null | undefined;
};

/**
 * Where a concluded attempt takes its task: back to `retrying` with the time of the next attempt, or on
 * to the state its judgement leads to, saying so when it was the last of several tries. Pure.
 */
export function taskMoveAfter(
  end: AttemptEnd,
  policy: Omit<RetryInput, "state" | "baseDelayMs"> & { retryDelayMs: number },
): TaskMove {
  const retry = end.final
    ? ({ retry: false } as const)
    : retryDecision({
        ...policy,
        state: end.state,
        // Another agent of the failover list can start at once; the same one waits out its backoff.
        baseDelayMs: end.failoverTo ? 0 : policy.retryDelayMs,
      });
  if (retry.retry) {
    const { nextAttemptAt } = retry;
    return {
      from: ["running"],
      to: "retrying",
      fields: {
        stateReason: end.reason,
        nextAttemptAt,
        ...(end.startedFrom?.from === "branch" ? { nextStart: end.startedFrom } : {}),
      },
      cause: { data: { attempt: policy.attemptNumber, nextAttemptAt } },
    };
  }
  const reason =
    end.state === "failed" && policy.attemptNumber > 1 && !end.final
      ? `${end.reason} (attempt ${policy.attemptNumber} of ${policy.maxAttempts}; no tries left)`
      : end.reason;
  return {
    from: ["running"],
    to: end.state,
    fields: { stateReason: reason, nextAttemptAt: null },
    cause: {},
  };
}
