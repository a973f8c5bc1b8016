/**
 * What Drover does with one of its open pull requests when its base branch moved, or someone pushed to it.
 * Pure: the caller reads the pull request and counts the attempts, this decides, the caller applies it.
 */

/** drover.yml `update_branch`. */
export type UpdateBranch = "conflicts" | "always";

export type FollowInput = {
  /** The task's state: only tasks with an open pull request that no attempt works on are followed. */
  state: "review" | "conflict";
  /** GitHub's `mergeable`: null while it is still working it out (just after the base moved). */
  mergeable: boolean | null;
  updateBranch: UpdateBranch;
  /**
   * The base branch moved (a push to it). A push to the pull request's own branch (a person's fix) moved
   * nothing under it: `update_branch: always` has nothing to bring in then.
   */
  baseMoved: boolean;
  /** Attempts already asked to resolve this pull request's conflicts. */
  conflictAttempts: number;
  /** drover.yml `max_conflict_attempts`. */
  maxConflictAttempts: number;
};

export type FollowDecision =
  /** GitHub has not worked out whether it merges yet: read the pull request again in a moment. */
  | { kind: "ask-again" }
  | { kind: "nothing"; why: string }
  /** It merges cleanly, and drover.yml wants it brought up to date: an `update` attempt (no agent). */
  | { kind: "update" }
  /** It conflicts: a `conflict` attempt, the agent asked to resolve it (`attempt` of `of`). */
  | { kind: "resolve"; attempt: number; of: number }
  /** It conflicts and the agent has had its tries: the task waits for a person (`conflict`). */
  | { kind: "wait-for-person" }
  /** A task waiting in `conflict` whose pull request merges cleanly again (a person fixed it): review. */
  | { kind: "mergeable-again" };

export function decideFollow(input: FollowInput): FollowDecision {
  if (input.mergeable === null) return { kind: "ask-again" };
  if (input.state === "conflict") {
    return input.mergeable
      ? { kind: "mergeable-again" }
      : { kind: "nothing", why: "still conflicting; waiting for a person" };
  }
  if (input.mergeable) {
    return input.updateBranch === "always" && input.baseMoved
      ? { kind: "update" }
      : { kind: "nothing", why: "merges cleanly" };
  }
  if (input.conflictAttempts < input.maxConflictAttempts)
    return { kind: "resolve", attempt: input.conflictAttempts + 1, of: input.maxConflictAttempts };
  return { kind: "wait-for-person" };
}
