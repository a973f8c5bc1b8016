import { z } from "zod";

/**
 * A stacked start (drover.yml `stack: true`): the blocker whose branch the attempt starts from instead of
 * the base branch, and which its pull request targets until that blocker's pull request merges.
 */
export const Onto = z.object({
  /** The blocker's task branch (`drover/...`). */
  branch: z.string().min(1),
  taskId: z.number().int().positive(),
  issueNumber: z.number().int().positive(),
});
export type Onto = z.infer<typeof Onto>;

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
  /**
   * Stacked: wherever this attempt would start from the base branch (`from: "base"`, or a task branch
   * GitHub does not have), it starts from this blocker's branch as GitHub has it now. Set by the scheduler
   * while the task is ready (src/scheduler/plan.ts), dropped when the blocker is done.
   */
  onto: Onto.exactOptional(),
});
export type AttemptStart = z.infer<typeof AttemptStart>;

/** An attempt's (or a task's next) start as stored; null (an older row, an automatic retry) is `base`. */
export function readStart(value: unknown): AttemptStart | null {
  const parsed = AttemptStart.safeParse(value);
  return parsed.success ? parsed.data : null;
}
