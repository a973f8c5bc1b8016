import { z } from "zod";

/**
 * How an attempt starts. `base`: a worktree from the base branch, pushed over whatever the task branch
 * held (a new task, an automatic retry, `/drover retry --fresh`). `branch`: on top of the task branch as
 * it is on GitHub now (its pull request's head, with any commits people pushed to it), pushed as new
 * commits, never a force-push (a rework after "changes requested", `/drover resume`, `/drover retry` of a
 * task in review, `/drover hint --restart`, the label added again while the pull request is open). A
 * branch that does not exist on GitHub starts from the base branch.
 */
export const AttemptStart = z.object({
  from: z.enum(["base", "branch"]),
  /** What asked for it. */
  cause: z.enum(["label", "run", "retry", "resume", "rework", "restart", "story", "update", "conflict"]),
  /** Who asked for it (a GitHub login). */
  by: z.string(),
  /** For a rework: the "changes requested" review it answers. */
  reviewId: z.number().int().positive().exactOptional(),
  /** For a rework: the pull request that review is on. */
  prNumber: z.number().int().positive().exactOptional(),
  /**
   * For `update` and `conflict` (always `from: "branch"`): the pull request's base branch, merged into the
   * task branch before anything else. `update`: it merged cleanly on GitHub, so no agent runs: the merge
   * is checked and pushed. `conflict`: the conflicts are left in the worktree for the agent to resolve.
   * `sha`: the base commit the decision was made on (the push that moved it), when known.
   */
  merge: z.object({ branch: z.string().min(1), sha: z.string().exactOptional() }).exactOptional(),
});
export type AttemptStart = z.infer<typeof AttemptStart>;

/** An attempt's (or a task's next) start as stored; null (an older row, an automatic retry) is `base`. */
export function readStart(value: unknown): AttemptStart | null {
  const parsed = AttemptStart.safeParse(value);
  return parsed.success ? parsed.data : null;
}
