import { describe, expect, it } from "vitest";
import { decideFollow, type FollowInput } from "../../../src/graph/follow-base.ts";

const IN_REVIEW: FollowInput = {
  state: "review",
  mergeable: true,
  updateBranch: "conflicts",
  baseMoved: true,
  conflictAttempts: 0,
  maxConflictAttempts: 2,
};

describe("decideFollow", () => {
  it("asks again while GitHub is still working out whether the pull request merges", () => {
    expect(decideFollow({ ...IN_REVIEW, mergeable: null })).toEqual({ kind: "ask-again" });
    expect(decideFollow({ ...IN_REVIEW, state: "conflict", mergeable: null })).toEqual({ kind: "ask-again" });
  });

  it("leaves a pull request that merges cleanly alone with update_branch: conflicts", () => {
    expect(decideFollow(IN_REVIEW)).toMatchObject({ kind: "nothing" });
  });

  it("brings a pull request that merges cleanly up to date with update_branch: always, when its base moved", () => {
    expect(decideFollow({ ...IN_REVIEW, updateBranch: "always" })).toEqual({ kind: "update" });
    // Someone pushed to the pull request itself: nothing new on the base to bring in.
    expect(decideFollow({ ...IN_REVIEW, updateBranch: "always", baseMoved: false })).toMatchObject({
      kind: "nothing",
    });
  });

  it("gives a conflicting pull request to the agent, counting its tries, whatever update_branch says", () => {
    for (const updateBranch of ["conflicts", "always"] as const) {
      expect(decideFollow({ ...IN_REVIEW, updateBranch, mergeable: false })).toEqual({
        kind: "resolve",
        attempt: 1,
        of: 2,
      });
    }
    expect(decideFollow({ ...IN_REVIEW, mergeable: false, conflictAttempts: 1 })).toEqual({
      kind: "resolve",
      attempt: 2,
      of: 2,
    });
  });

  it("leaves a conflicting pull request to a person once the agent has had its tries (or has none)", () => {
    expect(decideFollow({ ...IN_REVIEW, mergeable: false, conflictAttempts: 2 })).toEqual({
      kind: "wait-for-person",
    });
    expect(decideFollow({ ...IN_REVIEW, mergeable: false, maxConflictAttempts: 0 })).toEqual({
      kind: "wait-for-person",
    });
  });

  it("puts a task waiting in conflict back in review once its pull request merges, and only then", () => {
    for (const updateBranch of ["conflicts", "always"] as const) {
      expect(decideFollow({ ...IN_REVIEW, state: "conflict", updateBranch })).toEqual({
        kind: "mergeable-again",
      });
    }
    // Still conflicting: no automatic try however few were made; it waits for a person.
    expect(decideFollow({ ...IN_REVIEW, state: "conflict", mergeable: false })).toMatchObject({
      kind: "nothing",
    });
  });
});
