import type { JobDeps } from "../deps.ts";

/**
 * The one-line ways other jobs ask for a repository's mirror and pool to be made ready (jobs/warm-pool.ts).
 * Apart from the job itself, so that run-task can import them without importing the pool's steps (which,
 * once src/git/pool.ts is wired in, use run-task's setup runner: an import cycle).
 */

/**
 * After an attempt claimed a worktree (a ready one, or one it made because none was ready): the pool is
 * filled again in the background. For run-task (jobs/run-task/worktree.ts), once per attempt.
 */
export function refillAfterClaim(
  deps: Pick<JobDeps, "enqueue">,
  repoId: number,
  attemptId: number,
): Promise<void> {
  return deps.enqueue("warm-pool", { repoId, cause: `claim-${attemptId}` });
}

/** A task labelled in the repository: its mirror and pool made ready, once per repository while queued. */
export function warmForTasks(deps: Pick<JobDeps, "enqueue">, repoId: number): Promise<void> {
  return deps.enqueue("warm-pool", { repoId, cause: `start-${repoId}` });
}
