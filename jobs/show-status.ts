import type { Db } from "../src/db/client.ts";
import { hintsOf } from "../src/db/hints.ts";
import type { Task } from "../src/db/tasks.ts";
import { STATUS_HINTS, type StatusView } from "../src/github/render.ts";
import { publishStatus } from "../src/github/issue-status.ts";
import type { Octokit, RepoRef } from "../src/github/types.ts";

/**
 * Shows `view` on the task's issue (status comment and labels) with the task's latest hints. Returns the
 * status comment's id (kept in `last_written`, so every later writer edits that one comment).
 */
export async function showStatus(
  db: Db,
  octokit: Octokit,
  repo: RepoRef,
  task: Pick<Task, "id" | "issueNumber">,
  view: StatusView,
): Promise<number> {
  const hints = await hintsOf(db, task.id);
  const shown: StatusView = {
    ...view,
    hints: hints.slice(-STATUS_HINTS).map(({ author, kind, body, givenLiveAt }) => ({
      author,
      kind,
      body,
      givenLive: givenLiveAt !== null,
    })),
    hintCount: hints.length,
  };
  return publishStatus(db, octokit, repo, task, shown);
}
