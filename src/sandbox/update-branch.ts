import { mergeBranches } from "./git/merge.ts";
import type { SandboxContext } from "./context.ts";
import { announcePush } from "./pushes.ts";
import { now, SandboxError, type Account, type PullRecord } from "./world.ts";

/**
 * GitHub's "Update branch" (PUT .../pulls/{n}/update-branch): the base branch merged into the pull
 * request's head with a merge commit ("Merge branch 'main' into feature", head then base as parents),
 * then what any push causes (push, `synchronize`). GitHub does the merge after answering 202; the sandbox
 * does it first, so its webhooks follow the answer as closely as GitHub's usually do.
 * Throws a SandboxError (422, GitHub's messages) and changes nothing when the pull request is closed,
 * `expectedHeadSha` is not its head, base has nothing head lacks, or they conflict.
 */
export async function updatePullBranch(
  ctx: SandboxContext,
  pull: PullRecord,
  sender: Account,
  expectedHeadSha?: string,
): Promise<{ sha: string }> {
  const repo = pull.issue.repo;
  ctx.require(repo, sender, "write", "updating a pull request's branch");
  if (pull.merged || pull.issue.state === "closed")
    throw new SandboxError(422, "Cannot update the branch of a closed pull request.");
  if (expectedHeadSha !== undefined && expectedHeadSha !== pull.headSha)
    throw new SandboxError(422, "expected head sha didn't match current head ref.");
  const before = pull.headSha;
  // mergeBranches merges its `head` into its `base`: here the pull request's base into its head branch.
  const result = await mergeBranches(ctx.barePath(repo), {
    base: pull.head,
    head: pull.base,
    message: `Merge branch '${pull.base}' into ${pull.head}`,
    committer: {
      name: sender.name ?? sender.login,
      email: `${sender.id}+${sender.login}@users.noreply.sandbox`,
    },
  });
  if (!result.merged)
    throw new SandboxError(422, result.reason === "missing-branch" ? result.detail : REFUSALS[result.reason]);
  repo.pushedAt = now();
  await announcePush(ctx, repo, sender, [{ ref: `refs/heads/${pull.head}`, before, after: result.sha }]);
  return { sha: result.sha };
}

const REFUSALS = {
  conflict: "merge conflict between base and head",
  "up-to-date": "There are no new commits on the base branch.",
} as const;
