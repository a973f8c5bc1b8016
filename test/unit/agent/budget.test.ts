import { describe, expect, it } from "vitest";
import { remainingBudget, spentSoFar } from "../../../src/agent/budget.ts";

describe("budget", () => {
  it("adds up earlier attempts' time and reported cost", () => {
    expect(
      spentSoFar([
        { durationMs: 60_000, costUsd: "0.50" },
        { durationMs: null, costUsd: null },
        { durationMs: 30_000, costUsd: "1.25" },
      ]),
    ).toEqual({ ms: 90_000, costUsd: 1.75 });
  });

  it("gives the time left, or says the budget is spent", () => {
    expect(remainingBudget({ timeMs: 600_000 }, { ms: 90_000, costUsd: 0 })).toEqual({
      exhausted: false,
      timeMs: 510_000,
    });
    expect(remainingBudget({ timeMs: 60_000 }, { ms: 58_000, costUsd: 0 })).toEqual({
      exhausted: true,
      why: "the task's time budget is spent (58 s of 60 s)",
    });
    expect(remainingBudget({ costUsd: 2 }, { ms: 0, costUsd: 2.5 })).toMatchObject({ exhausted: true });
    expect(remainingBudget(undefined, { ms: 1e9, costUsd: 1e9 })).toEqual({
      exhausted: false,
      timeMs: undefined,
    });
  });
});
