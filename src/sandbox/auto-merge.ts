import type { SandboxContext } from "./context.ts";
import { defaultMergeMessage, emitPull, mergePull, type MergeMethod } from "./merging.ts";
import { requirementsMet } from "./requirements.ts";
import { now, SandboxError, type Account, type PullRecord, type RepoRecord } from "./world.ts";

/**
 * GitHub's auto-merge, waiting for the sandbox's stand-in for branch protection (requirements.ts: every
 * check run on the head commit passing, no changes requested). A pull request with auto-merge on is
 * merged (as whoever enabled it, through the same path as PUT .../merge) once those hold.
 */

/** Pull requests being merged by auto-merge right now. */
const merging = new WeakSet<PullRecord>();

/**
 * Turns auto-merge on for `pull`, or throws a SandboxError (403, 422) with GitHub's message: when the
 * repository does not allow it, the pull request is closed or a draft, or there is nothing to wait for
 * (GitHub refuses a pull request that could be merged right now: "is in clean status").
 */
export function enableAutoMerge(
  ctx: SandboxContext,
  pull: PullRecord,
  who: Account,
  opts: { method: MergeMethod; commitTitle?: string; commitMessage?: string },
): void {
  const repo = pull.issue.repo;
  if (!ctx.has(repo, who, "write"))
    throw new SandboxError(
      403,
      `${who.login} does not have permission to enable auto-merge on this pull request`,
    );
  if (!repo.allowAutoMerge)
    throw new SandboxError(422, "Pull request Auto merge is not allowed for this repository");
  if (pull.merged || pull.issue.state === "closed")
    throw new SandboxError(422, "Pull request Pull request is closed");
  if (pull.draft) throw new SandboxError(422, "Pull request Pull request is in draft state");
  if (requirementsMet(pull)) throw new SandboxError(422, "Pull request Pull request is in clean status");
  const proposed = defaultMergeMessage(pull, opts.method);
  pull.autoMerge = {
    enabledBy: who,
    enabledAt: now(),
    mergeMethod: opts.method,
    commitTitle: opts.commitTitle ?? proposed.title,
    commitMessage: opts.commitMessage ?? proposed.message,
  };
  emitPull(ctx, pull, "auto_merge_enabled", who);
}

/** Turns auto-merge off (nothing happens when it is off already). */
export function disableAutoMerge(ctx: SandboxContext, pull: PullRecord, who: Account): void {
  if (!ctx.has(pull.issue.repo, who, "write"))
    throw new SandboxError(
      403,
      `${who.login} does not have permission to disable auto-merge on this pull request`,
    );
  if (!pull.autoMerge) return;
  pull.autoMerge = null;
  emitPull(ctx, pull, "auto_merge_disabled", who, { reason: `${who.login} disabled auto-merge` });
}

/**
 * Merges each open pull request of `repo` with auto-merge on whose requirements are now met: called after
 * whatever may meet them (a check run written, a review submitted). One that cannot merge (a conflict)
 * stays open with auto-merge on, as on GitHub.
 */
export async function settleAutoMerge(ctx: SandboxContext, repo: RepoRecord): Promise<void> {
  for (const issue of [...repo.issues.values()]) {
    const pull = issue.pull;
    if (!pull?.autoMerge || pull.merged || issue.state !== "open" || pull.draft) continue;
    // Two check runs finishing at once both see the requirements met; one merge is enough.
    if (merging.has(pull) || !requirementsMet(pull)) continue;
    const { enabledBy, mergeMethod, commitTitle, commitMessage } = pull.autoMerge;
    merging.add(pull);
    try {
      await mergePull(ctx, pull, enabledBy, { method: mergeMethod, commitTitle, commitMessage });
    } catch (error) {
      if (!(error instanceof SandboxError)) throw error;
    } finally {
      merging.delete(pull);
    }
  }
}
