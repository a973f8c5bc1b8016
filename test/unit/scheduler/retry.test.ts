import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_RETRY_DELAY_MS, retryDecision, taskMoveAfter } from "../../../src/scheduler/retry.ts";

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
    for (const state of ["blocked", "cancelled", "review", "conflict"] as const)
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

describe("taskMoveAfter", () => {
  const policy = { attemptNumber: 1, maxAttempts: 3, retryDelayMs: 60_000, now: 0, random: 0.5 };
  const failedRun = { state: "failed", reason: "agent exited with code 3" } as const;

  it("sends a failed attempt with tries left back to retrying, saying when the next starts", () => {
    const move = taskMoveAfter(failedRun, policy);
    expect(move).toMatchObject({
      from: ["running"],
      to: "retrying",
      fields: { stateReason: "agent exited with code 3", nextAttemptAt: new Date(45_000) },
      cause: { data: { attempt: 1, nextAttemptAt: new Date(45_000) } },
    });
  });

  it("lets a failover agent start at once", () => {
    const move = taskMoveAfter({ ...failedRun, failoverTo: "codex" }, policy);
    expect(move.fields.nextAttemptAt).toEqual(new Date(0));
  });

  it("fails the last try, saying no tries are left, and a final one without", () => {
    expect(taskMoveAfter(failedRun, { ...policy, attemptNumber: 3 })).toMatchObject({
      to: "failed",
      fields: {
        stateReason: "agent exited with code 3 (attempt 3 of 3; no tries left)",
        nextAttemptAt: null,
      },
    });
    const spent = taskMoveAfter({ ...failedRun, reason: "the budget is spent", final: true }, policy);
    expect(spent).toMatchObject({ to: "failed", fields: { stateReason: "the budget is spent" } });
  });

  it("moves a passing attempt to review", () => {
    const move = taskMoveAfter({ state: "review", reason: "the agent reported success" }, policy);
    expect(move).toMatchObject({ to: "review", fields: { stateReason: "the agent reported success" } });
  });

  it("moves a merge left in conflict to conflict, with tries left and no retry", () => {
    const reason = "the merge of `main` into `drover/1-x` still conflicts in `a.ts`";
    const move = taskMoveAfter({ state: "conflict", reason }, policy);
    expect(move).toMatchObject({
      from: ["running"],
      to: "conflict",
      fields: { stateReason: reason, nextAttemptAt: null },
    });
  });
});
