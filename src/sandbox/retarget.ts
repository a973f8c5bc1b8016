import { commitLog } from "./git/history.ts";
import { resolveRef } from "./git/refs.ts";
import { editIssue } from "./changes.ts";
import type { SandboxContext } from "./context.ts";
import { recount } from "./pull-state.ts";
import { SandboxError, touch, type Account, type PullRecord, type RepoRecord } from "./world.ts";

/** What `pull_request.edited` says under `changes.base` when a pull request changed base. */
export type BaseChange = { ref: { from: string }; sha: { from: string } };

/**
 * Points `pull` at `base` (PATCH .../pulls/{n} with `base`): its numbers counted again against the new
 * base, its mergeability unknown until next asked for. Returns what changed, for the `edited` webhook the
 * caller sends, or null when `base` is its base already. Throws a SandboxError (422) and changes nothing
 * when the pull request is closed, `base` does not exist, another open pull request has the same head and
 * base, or base already has every commit of head.
 */
export async function retarget(
  ctx: SandboxContext,
  pull: PullRecord,
  base: string,
): Promise<BaseChange | null> {
  if (base === pull.base) return null;
  const repo = pull.issue.repo;
  if (pull.merged || pull.issue.state === "closed")
    throw new SandboxError(422, "Cannot change the base branch of a closed pull request.");
  const invalid = (message: string) =>
    new SandboxError(422, `Validation Failed: ${message}`, [
      { resource: "PullRequest", field: "base", code: "invalid" },
    ]);
  const bare = ctx.barePath(repo);
  const baseSha = await resolveRef(bare, `refs/heads/${base}`).catch(() => null);
  if (baseSha === null) throw invalid(`Proposed base branch '${base}' was not found`);
  const twin = [...repo.issues.values()].find(
    (i) => i.pull && i.state === "open" && i.pull.head === pull.head && i.pull.base === base,
  );
  if (twin)
    throw invalid(`A pull request already exists for base branch '${base}' and head branch '${pull.head}'`);
  if ((await commitLog(bare, baseSha, pull.headSha)).length === 0)
    throw invalid(`There are no new commits between base branch '${base}' and head branch '${pull.head}'`);
  const change = { ref: { from: pull.base }, sha: { from: pull.baseSha } };
  pull.base = base;
  pull.baseSha = baseSha;
  pull.mergeable = null;
  await recount(bare, pull);
  touch(pull.issue);
  return change;
}

/**
 * GitHub's retargeting when a branch is deleted after its pull request merged: the open pull requests
 * into it (stacked on it) now go into the base that pull request merged into, each with
 * `pull_request.edited` (changes.base), sent as whoever deleted the branch. Nothing happens for a branch
 * no merged pull request came from; GitHub closes the pull requests into such a branch, which the sandbox
 * does not do (they stay open, into a branch that no longer exists).
 */
export async function retargetFromDeleted(
  ctx: SandboxContext,
  repo: RepoRecord,
  sender: Account,
  branch: string,
): Promise<void> {
  const merged = [...repo.issues.values()]
    .flatMap((issue) => (issue.pull?.merged && issue.pull.head === branch ? [issue.pull] : []))
    .sort((a, b) => (b.mergedAt ?? "").localeCompare(a.mergedAt ?? "") || b.issue.number - a.issue.number)[0];
  if (!merged) return;
  for (const issue of [...repo.issues.values()]) {
    const pull = issue.pull;
    if (!pull || issue.state !== "open" || pull.base !== branch) continue;
    try {
      const change = await retarget(ctx, pull, merged.base);
      if (change) editIssue(ctx, issue, {}, sender, { base: change });
    } catch (error) {
      // Nothing left to merge into the new base, or a twin already there: it stays as it was.
      if (!(error instanceof SandboxError)) throw error;
    }
  }
}
