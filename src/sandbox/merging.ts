import { mergeBranches } from "./git/merge.ts";
import { resolveRef } from "./git/refs.ts";
import { closeIssue } from "./changes.ts";
import type { SandboxContext } from "./context.ts";
import { announcePush } from "./pushes.ts";
import { pullRequest } from "./shapes.ts";
import { now, SandboxError, touch, type Account, type PullRecord } from "./world.ts";

/** "Closes #3", "fixes #4", "Resolved #5": the issues a merged pull request closes (GitHub's keywords). */
function closingReferences(text: string | null): number[] {
  const found = new Set<number>();
  for (const match of (text ?? "").matchAll(/\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+#(\d+)\b/gi))
    found.add(Number(match[1]));
  return [...found];
}

export type MergeMethod = "merge" | "squash";

/** The commit title and message GitHub proposes for merging `pull` with `method`. */
export function defaultMergeMessage(
  pull: PullRecord,
  method: MergeMethod,
): { title: string; message: string } {
  const { issue } = pull;
  return method === "squash"
    ? { title: `${issue.title} (#${issue.number})`, message: "" }
    : {
        title: `Merge pull request #${issue.number} from ${issue.repo.owner.login}/${pull.head}`,
        message: issue.title,
      };
}

/**
 * Merges `pull` as `merger` (PUT .../merge and auto-merge both come here): a real merge or squash commit
 * on the base branch, then `pull_request.closed` (merged), the push, and the issues its body closes.
 * Throws a SandboxError (405, 409) when the pull request cannot be merged; changes nothing then.
 */
export async function mergePull(
  ctx: SandboxContext,
  pull: PullRecord,
  merger: Account,
  opts: { method: MergeMethod; sha?: string; commitTitle?: string; commitMessage?: string },
): Promise<{ sha: string }> {
  const repo = pull.issue.repo;
  if (pull.merged || pull.issue.state === "closed")
    throw new SandboxError(405, "Pull Request is not mergeable");
  if (pull.draft) throw new SandboxError(405, "Pull Request is still a draft");
  if (opts.sha !== undefined && opts.sha !== pull.headSha)
    throw new SandboxError(409, "Head branch was modified. Review and try the merge again.");
  const bare = ctx.barePath(repo);
  const before = await resolveRef(bare, `refs/heads/${pull.base}`);
  const proposed = defaultMergeMessage(pull, opts.method);
  const title = opts.commitTitle ?? proposed.title;
  const body = opts.commitMessage ?? (opts.commitTitle === undefined ? proposed.message : "");
  const result = await mergeBranches(bare, {
    base: pull.base,
    head: pull.head,
    squash: opts.method === "squash",
    message: body === "" ? title : `${title}\n\n${body}`,
    committer: {
      name: merger.name ?? merger.login,
      email: `${merger.id}+${merger.login}@users.noreply.sandbox`,
    },
  });
  if (!result.merged) throw new SandboxError(405, `Pull Request is not mergeable: ${result.detail}`);

  pull.merged = true;
  pull.mergedAt = now();
  pull.mergedBy = merger;
  pull.mergeCommitSha = result.sha;
  pull.baseSha = before ?? pull.baseSha;
  pull.issue.state = "closed";
  pull.issue.closedAt = pull.mergedAt;
  pull.issue.closedBy = merger;
  touch(pull.issue);
  ctx.world.recordEvent(pull.issue, merger, "merged");
  ctx.world.recordEvent(pull.issue, merger, "closed");
  emitPull(ctx, pull, "closed", merger);
  repo.pushedAt = now();
  await announcePush(ctx, repo, merger, [{ ref: `refs/heads/${pull.base}`, before, after: result.sha }]);
  if (pull.base === repo.defaultBranch) {
    for (const number of closingReferences(pull.issue.body)) {
      const target = repo.issues.get(number);
      if (target && !target.pull) closeIssue(ctx, target, merger, "completed");
    }
  }
  return { sha: result.sha };
}

/** The `pull_request` webhook for `action` on `pull`, by `sender` (`extra`: the action's own fields). */
export function emitPull(
  ctx: SandboxContext,
  pull: PullRecord,
  action: string,
  sender: Account,
  extra: Record<string, unknown> = {},
): void {
  ctx.emit({
    event: "pull_request",
    action,
    repo: pull.issue.repo,
    sender,
    fields: {
      number: pull.issue.number,
      pull_request: pullRequest(ctx.urls, pull, ctx.openIssues(pull.issue.repo)),
      ...extra,
    },
  });
}
