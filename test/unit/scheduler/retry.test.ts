import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_RETRY_DELAY_MS, retryDecision } from "../../../src/scheduler/retry.ts";

const base = { maxAttempts: 3, baseDelayMs: 60_000, now: 0, random: 0.5 } as const;

describe("retryDecision", () => {
  it("retries a failed attempt until max_attempts, doubling the delay", () => {
    const first = retryDecision({ ...base, attemptNumber: 1, state: "failed" });
    const second = retryDecision({ ...base, attemptNumber: 2, state: "failed" });
    expect(first).toMatchObject({ retry: true, delayMs: 45_000 });
    expect(second).toMatchObject({ retry: true, delayMs: 90_000 });
    expect(retryDecision({ ...base, attemptNumber: 3, state: "failed" })).toEqual({ retry: false });
  });

  it("does not retry what another try cannot mend", () => {
    for (const state of ["blocked", "cancelled", "review"] as const)
      expect(retryDecision({ ...base, attemptNumber: 1, state })).toEqual({ retry: false });
  });

  it("keeps every delay between half and all of the capped backoff", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, random) => {
          const decision = retryDecision({
            ...base,
            maxAttempts: 31,
            attemptNumber: n,
            state: "failed",
            random,
          });
          if (!decision.retry) return false;
          const full = Math.min(60_000 * 2 ** (n - 1), MAX_RETRY_DELAY_MS);
          return decision.delayMs >= full / 2 - 1 && decision.delayMs <= full + 1;
        },
      ),
    );
  });
});
