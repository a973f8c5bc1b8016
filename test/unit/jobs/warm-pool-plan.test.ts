import { describe, expect, it } from "vitest";
import { planWarm, type WarmState } from "../../../jobs/warm-pool/plan.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const CONFIG = { pool: { min: 1, max: 3 }, setup: { command: "npm ci", timeoutMs: 60_000 } };
const CURRENT: WarmState = { removed: false, mirrorTip: A, pushedTip: A, pushed: false, config: CONFIG };

describe("what the warm-pool job does for a repository", () => {
  it("fetches nothing when the mirror is at the newest push, and looks after the pool", () => {
    expect(planWarm(CURRENT)).toEqual({ kind: "warm", fetch: null, pool: true });
    // No push recorded yet (installed, or pushed to before Drover was there): the mirror stands.
    expect(planWarm({ ...CURRENT, pushedTip: null })).toEqual({ kind: "warm", fetch: null, pool: true });
  });

  it("fetches a missing mirror, and one behind the newest push to the base", () => {
    expect(planWarm({ ...CURRENT, mirrorTip: null })).toMatchObject({ fetch: "the mirror is missing" });
    expect(planWarm({ ...CURRENT, pushedTip: B })).toMatchObject({ fetch: "a push moved the base branch" });
  });

  it("fetches for a push only when the mirror is not at it yet, or where no push is recorded for the base", () => {
    // Another job, or an attempt's claim, fetched it already.
    expect(planWarm({ ...CURRENT, pushed: true })).toMatchObject({ fetch: null });
    // A base branch other than the default: no tip is recorded for it, so the push is taken at its word.
    expect(planWarm({ ...CURRENT, pushedTip: null, pushed: true })).toMatchObject({
      fetch: "a push moved the base branch",
    });
  });

  it("keeps only the mirror of a repository no task has recorded drover.yml for", () => {
    expect(planWarm({ ...CURRENT, mirrorTip: null, config: undefined })).toEqual({
      kind: "warm",
      fetch: "the mirror is missing",
      pool: { skipped: "no task has recorded drover.yml yet" },
    });
  });

  it("does nothing for a repository the app was taken off", () => {
    expect(planWarm({ ...CURRENT, mirrorTip: null, pushedTip: B, removed: true })).toEqual({
      kind: "nothing",
      why: "the app was taken off the repository",
    });
  });
});
