import { commitLog } from "./git/history.ts";
import type { SandboxContext } from "./context.ts";
import { recount } from "./pull-state.ts";
import { retargetFromDeleted } from "./retarget.ts";
import { pullRequest } from "./shapes.ts";
import { touch, type Account, type RepoRecord } from "./world.ts";

export type RefUpdate = { ref: string; before: string | null; after: string | null };

/** What a push webhook says for a ref that did not exist before, or no longer does. */
export const ZERO_SHA = "0".repeat(40);

/**
 * What follows a change of branches, however it came (git push, the contents API, a merge, a branch
 * update): a `push` webhook per ref, `synchronize` for open pull requests whose head branch moved, and
 * for a deleted branch GitHub's retargeting of the pull requests into it (retarget.ts).
 */
export async function announcePush(
  ctx: SandboxContext,
  repo: RepoRecord,
  sender: Account,
  updates: RefUpdate[],
): Promise<void> {
  const bare = ctx.barePath(repo);
  for (const update of updates) {
    if (!update.ref.startsWith("refs/heads/")) continue;
    const commits = update.after ? await commitLog(bare, update.before, update.after) : [];
    const toJson = (c: (typeof commits)[number]) => ({
      id: c.sha,
      tree_id: c.tree,
      distinct: true,
      message: c.message,
      timestamp: c.timestamp,
      url: `${ctx.urls.web}/${repo.fullName}/commit/${c.sha}`,
      author: { name: c.author.name, email: c.author.email },
      committer: { name: c.committer.name, email: c.committer.email },
      added: c.added,
      removed: c.removed,
      modified: c.modified,
    });
    const head = commits.at(-1);
    ctx.emit({
      event: "push",
      repo,
      sender,
      fields: {
        ref: update.ref,
        before: update.before ?? ZERO_SHA,
        after: update.after ?? ZERO_SHA,
        created: update.before === null,
        deleted: update.after === null,
        forced: false,
        base_ref: null,
        compare: `${ctx.urls.web}/${repo.fullName}/compare/${(update.before ?? ZERO_SHA).slice(0, 12)}...${(update.after ?? ZERO_SHA).slice(0, 12)}`,
        commits: commits.map(toJson),
        head_commit: head ? toJson(head) : null,
        pusher: { name: sender.login, email: `${sender.id}+${sender.login}@users.noreply.sandbox` },
      },
    });
    const branch = update.ref.slice("refs/heads/".length);
    if (!update.after) {
      await retargetFromDeleted(ctx, repo, sender, branch);
      continue;
    }
    for (const issue of repo.issues.values()) {
      const pull = issue.pull;
      if (!pull || issue.state !== "open") continue;
      // A pull request into the branch that moved may now conflict: GitHub works that out again when the
      // pull request is next asked for.
      if (pull.base === branch) pull.mergeable = null;
      if (pull.head !== branch || pull.headSha === update.after) continue;
      const before = pull.headSha;
      pull.headSha = update.after;
      // The numbers are in the `synchronize` payload; mergeability is not known yet (null there, as on GitHub).
      await recount(bare, pull);
      pull.mergeable = null;
      touch(issue);
      ctx.emit({
        event: "pull_request",
        action: "synchronize",
        repo,
        sender,
        fields: {
          number: issue.number,
          before,
          after: update.after,
          pull_request: pullRequest(ctx.urls, pull, ctx.openIssues(repo)),
        },
      });
    }
  }
}
